namespace SecureFed.Crypto.Internal;

/// <summary><see cref="Gf256"/> as the field of <see cref="ShamirSecretSharing{TField, TElement}"/>: byte elements,
/// share indices 1..255.</summary>
internal readonly struct Gf256ShamirField : IShamirField<byte>
{
    public static int MaxIndex => 255;

    public static byte MultiplyPublic(byte a, byte b) => Gf256.MultiplyPublic(a, b);

    public static byte InversePublic(byte a) => Gf256.InversePublic(a);

    public static void MultiplyInPlace(Span<byte> values, byte scalar) => Gf256.MultiplyInPlace(values, scalar);

    public static void MultiplyAccumulate(byte scalar, ReadOnlySpan<byte> values, Span<byte> accumulator) =>
        Gf256.MultiplyAccumulate(scalar, values, accumulator);

    public static void Xor(Span<byte> target, ReadOnlySpan<byte> source) => Gf256.Xor(target, source);
}
