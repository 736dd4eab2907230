namespace SecureFed.Crypto.Internal;

/// <summary><see cref="Gf65536"/> as the field of <see cref="ShamirSecretSharing{TField, TElement}"/>: 16-bit word
/// elements (little-endian), share indices 1..65535.</summary>
internal readonly struct Gf65536ShamirField : IShamirField<ushort>
{
    public static int MaxIndex => Gf65536.Order - 1;

    public static ushort MultiplyPublic(ushort a, ushort b) => Gf65536.MultiplyPublic(a, b);

    public static ushort InversePublic(ushort a) => Gf65536.InversePublic(a);

    public static void MultiplyInPlace(Span<ushort> values, ushort scalar) => Gf65536.MultiplyInPlace(values, scalar);

    public static void MultiplyAccumulate(ushort scalar, ReadOnlySpan<ushort> values, Span<ushort> accumulator) =>
        Gf65536.MultiplyAccumulate(scalar, values, accumulator);

    public static void Xor(Span<ushort> target, ReadOnlySpan<ushort> source) => Gf65536.Xor(target, source);
}
