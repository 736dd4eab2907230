using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// Shamir sharing over a binary field <typeparamref name="TField"/>, element-wise on the secret read as
/// <typeparamref name="TElement"/> values; see <see cref="ISecretSharing"/>. The one implementation of both
/// <see cref="CryptoProvider.SecretSharing"/> (<see cref="Gf256ShamirField"/>: bytes, indices 1..255) and
/// <see cref="CryptoProvider.WideSecretSharing"/> (<see cref="Gf65536ShamirField"/>: little-endian 16-bit words,
/// indices 1..65535, secrets of an even length).
/// </summary>
/// <remarks>Splitting evaluates every element position together by Horner's rule at each public index.
/// Reconstruction interpolates the first t shares at 0 (O(t^2) public table operations) and checks every surplus
/// share against the same polynomial in barycentric form, O(t) per surplus share, so reconstructing from all n shares
/// stays O(t^2 + n·t). Secret values only meet the constant-time span operations and
/// <see cref="CryptographicOperations.FixedTimeEquals"/>.</remarks>
internal sealed class ShamirSecretSharing<TField, TElement> : ISecretSharing
    where TField : IShamirField<TElement>
    where TElement : unmanaged, IBinaryInteger<TElement>
{
    // Index lists and per-share scalars up to this many elements live on the stack; beyond it (GF(2^16) only) on the heap.
    private const int StackLimit = 256;

    private static int MaxIndex => TField.MaxIndex;

    private static int ElementBytes => Unsafe.SizeOf<TElement>();

    public ShamirSecretSharing()
    {
        // Shares are elements read in host order; every supported platform (x64, arm64) is little-endian, and a
        // big-endian host would silently disagree with every other party on multi-byte elements.
        if (ElementBytes > 1 && !BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException($"GF(2^{8 * ElementBytes}) Shamir sharing needs a little-endian host.");
        }
    }

    public int MaxShares => MaxIndex;

    public int ElementSize => ElementBytes;

    public IReadOnlyList<SecretShare> Split(ReadOnlySpan<byte> secret, int threshold, int shareCount, IRandomSource rng)
    {
        ValidateThreshold(threshold);
        if (shareCount < threshold || shareCount > MaxIndex)
        {
            throw new ArgumentException(
                $"shareCount must be between threshold ({threshold}) and {MaxIndex}; got {shareCount}.", nameof(shareCount));
        }

        Span<int> indices = shareCount <= StackLimit ? stackalloc int[shareCount] : new int[shareCount];
        for (int i = 0; i < shareCount; i++)
        {
            indices[i] = i + 1;
        }

        return SplitAt(secret, threshold, indices, rng);
    }

    public IReadOnlyList<SecretShare> SplitAt(ReadOnlySpan<byte> secret, int threshold, ReadOnlySpan<int> indices, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (secret.IsEmpty || secret.Length % ElementBytes != 0)
        {
            throw new ArgumentException(ElementBytes == 1 ? "The secret to split is empty." : LengthMessage(secret.Length), nameof(secret));
        }

        ValidateThreshold(threshold);
        if (indices.Length < threshold)
        {
            throw new ArgumentException($"{indices.Length} share indices, fewer than the threshold {threshold}.", nameof(indices));
        }

        Span<ulong> seen = stackalloc ulong[(MaxIndex >> 6) + 1];
        foreach (int index in indices)
        {
            if (index is < 1 || index > MaxIndex || !MarkSeen(seen, index))
            {
                throw new ArgumentException($"Share index {index} is outside 1..{MaxIndex} or repeated.", nameof(indices));
            }
        }

        int length = secret.Length / ElementBytes;
        var secretElements = MemoryMarshal.Cast<byte, TElement>(secret);

        // coefficients[(k - 1) * length + j] is the x^k coefficient of element j's polynomial (k = 1..threshold-1);
        // the constant term is the secret element. All element positions are evaluated together (Horner, vectorised).
        var coefficientSecret = SecretBytes.Allocate((threshold - 1) * secret.Length);
        var coefficients = MemoryMarshal.Cast<byte, TElement>(coefficientSecret.Writable);
        var shares = new SecretShare[indices.Length];
        int made = 0;
        try
        {
            rng.Fill(coefficientSecret.Writable);
            for (; made < indices.Length; made++)
            {
                var x = TElement.CreateTruncating(indices[made]);
                var value = SecretBytes.Allocate(secret.Length);
                var y = MemoryMarshal.Cast<byte, TElement>(value.Writable);
                if (threshold == 1)
                {
                    secretElements.CopyTo(y);
                }
                else
                {
                    // y = (((a_{t-1}·x + a_{t-2})·x + ...)·x + secret); x is a public index.
                    coefficients.Slice((threshold - 2) * length, length).CopyTo(y);
                    for (int k = threshold - 2; k >= 1; k--)
                    {
                        TField.MultiplyInPlace(y, x);
                        TField.Xor(y, coefficients.Slice((k - 1) * length, length));
                    }

                    TField.MultiplyInPlace(y, x);
                    TField.Xor(y, secretElements);
                }

                shares[made] = new SecretShare(indices[made], value);
            }
        }
        catch
        {
            for (int i = 0; i < made; i++)
            {
                shares[i].Dispose();
            }

            throw;
        }
        finally
        {
            coefficientSecret.Dispose();
        }

        return shares;
    }

    public SecretBytes Combine(IReadOnlyList<SecretShare> shares, int threshold)
    {
        ArgumentNullException.ThrowIfNull(shares);
        ValidateThreshold(threshold);
        if (shares.Count < threshold)
        {
            throw new ArgumentException($"Reconstruction needs at least {threshold} shares; got {shares.Count}.", nameof(shares));
        }

        Span<ulong> seen = stackalloc ulong[(MaxIndex >> 6) + 1];
        int length = -1;
        for (int i = 0; i < shares.Count; i++)
        {
            var share = shares[i] ?? throw new ArgumentException($"Share {i} is null.", nameof(shares));

            // SecretShare's constructor enforces 1..65535; checked against the field because index 0 would be the
            // secret itself and a GF(2^8) index above 255 would wrap onto another.
            if (share.Index is < 1 || share.Index > MaxIndex)
            {
                throw new ArgumentException($"Share index {share.Index} is outside 1..{MaxIndex}.", nameof(shares));
            }

            if (!MarkSeen(seen, share.Index))
            {
                throw new ArgumentException($"Share index {share.Index} appears more than once.", nameof(shares));
            }

            int valueLength = share.Value.Length;
            if (valueLength == 0 || valueLength % ElementBytes != 0)
            {
                throw new ArgumentException(
                    ElementBytes == 1 ? $"Share {share.Index} has an empty value." : LengthMessage(valueLength), nameof(shares));
            }

            if (length >= 0 && valueLength != length)
            {
                throw new ArgumentException($"Share values differ in length ({length} and {valueLength} bytes).", nameof(shares));
            }

            length = valueLength;
        }

        Span<TElement> xs = threshold <= StackLimit ? stackalloc TElement[threshold] : new TElement[threshold];
        for (int i = 0; i < threshold; i++)
        {
            xs[i] = TElement.CreateTruncating(shares[i].Index);
        }

        // Barycentric weights w_i = 1 / prod_{m != i} (x_i - x_m) (subtraction is xor): public, computed once.
        Span<TElement> weights = threshold <= StackLimit ? stackalloc TElement[threshold] : new TElement[threshold];
        for (int i = 0; i < threshold; i++)
        {
            var denominator = TElement.One;
            for (int m = 0; m < threshold; m++)
            {
                if (m != i)
                {
                    denominator = TField.MultiplyPublic(denominator, xs[i] ^ xs[m]);
                }
            }

            weights[i] = TField.InversePublic(denominator);
        }

        Span<TElement> basis = threshold <= StackLimit ? stackalloc TElement[threshold] : new TElement[threshold];
        var secret = SecretBytes.Allocate(length);
        BasisAt(TElement.Zero, xs, weights, basis);
        Interpolate(shares, basis, MemoryMarshal.Cast<byte, TElement>(secret.Writable));
        if (shares.Count > threshold)
        {
            // Surplus shares must agree with the interpolated polynomials; otherwise some share is corrupt.
            using var expected = SecretBytes.Allocate(length);
            int mismatch = 0;
            for (int e = threshold; e < shares.Count; e++)
            {
                BasisAt(TElement.CreateTruncating(shares[e].Index), xs, weights, basis);
                Interpolate(shares, basis, MemoryMarshal.Cast<byte, TElement>(expected.Writable));
                mismatch |= CryptographicOperations.FixedTimeEquals(expected.Reveal(), shares[e].Value.Reveal()) ? 0 : 1;
            }

            if (mismatch != 0)
            {
                secret.Dispose();
                throw new CryptographicException(
                    "The shares are inconsistent: at least one share does not lie on the polynomial of the others.");
            }
        }

        return secret;
    }

    private static string LengthMessage(int length) =>
        $"Secrets shared over GF(2^{8 * ElementBytes}) must have a non-zero even length; got {length} bytes.";

    private static void ValidateThreshold(int threshold)
    {
        if (threshold < 1 || threshold > MaxIndex)
        {
            throw new ArgumentException($"threshold must be between 1 and {MaxIndex}; got {threshold}.", nameof(threshold));
        }
    }

    // Sets index's bit; false when it was already set (a repeated, public, index).
    private static bool MarkSeen(Span<ulong> seen, int index)
    {
        ulong bit = 1UL << (index & 63);
        ref ulong word = ref seen[index >> 6];
        bool fresh = (word & bit) == 0;
        word |= bit;
        return fresh;
    }

    // basis[i] = l_i(at) = w_i · prod_{m != i} (at - x_m). The evaluation point is 0 or a surplus share's index, never
    // a node, so l_i(at) = w_i · L(at) / (at - x_i) with L(at) = prod_m (at - x_m): O(t), public values only.
    private static void BasisAt(TElement at, ReadOnlySpan<TElement> xs, ReadOnlySpan<TElement> weights, Span<TElement> basis)
    {
        var whole = TElement.One;
        for (int m = 0; m < xs.Length; m++)
        {
            whole = TField.MultiplyPublic(whole, at ^ xs[m]);
        }

        for (int i = 0; i < xs.Length; i++)
        {
            basis[i] = TField.MultiplyPublic(weights[i], TField.MultiplyPublic(whole, TField.InversePublic(at ^ xs[i])));
        }
    }

    // output[j] = sum_i basis[i] · y_i[j] over the first basis.Length shares (basis public, y secret).
    private static void Interpolate(IReadOnlyList<SecretShare> shares, ReadOnlySpan<TElement> basis, Span<TElement> output)
    {
        output.Clear();
        for (int i = 0; i < basis.Length; i++)
        {
            TField.MultiplyAccumulate(basis[i], MemoryMarshal.Cast<byte, TElement>(shares[i].Value.Reveal()), output);
        }
    }
}
