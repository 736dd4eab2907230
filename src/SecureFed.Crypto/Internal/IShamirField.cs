using System.Numerics;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// The field arithmetic Shamir sharing needs, as static members so <see cref="ShamirSecretSharing{TField, TElement}"/>
/// is compiled once per field with every call inlined (no interface dispatch on the hot path).
/// </summary>
/// <typeparam name="TElement">A field element, read from the secret in host (little-endian) order.</typeparam>
/// <remarks>The span operations must be constant-time in the secret values (their scalar is public); the
/// <c>Public</c> operations may use tables and branches and only ever see share indices and Lagrange coefficients.
/// Addition and subtraction are xor in these characteristic-2 fields.</remarks>
internal interface IShamirField<TElement>
    where TElement : unmanaged, IBinaryInteger<TElement>
{
    /// <summary>The largest share index (the number of non-zero elements).</summary>
    static abstract int MaxIndex { get; }

    /// <summary>Table product for PUBLIC operands.</summary>
    static abstract TElement MultiplyPublic(TElement a, TElement b);

    /// <summary>Table inverse for a PUBLIC non-zero operand.</summary>
    static abstract TElement InversePublic(TElement a);

    /// <summary>values[j] = values[j] · scalar, constant-time in the secret values.</summary>
    static abstract void MultiplyInPlace(Span<TElement> values, TElement scalar);

    /// <summary>accumulator[j] ^= scalar · values[j], constant-time in the secret values and accumulator.</summary>
    static abstract void MultiplyAccumulate(TElement scalar, ReadOnlySpan<TElement> values, Span<TElement> accumulator);

    /// <summary>target[j] ^= source[j].</summary>
    static abstract void Xor(Span<TElement> target, ReadOnlySpan<TElement> source);
}
