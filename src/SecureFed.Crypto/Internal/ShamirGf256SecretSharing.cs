using System.Security.Cryptography;

namespace SecureFed.Crypto.Internal;

/// <summary>Shamir sharing over GF(2^8); see <see cref="ISecretSharing"/>.</summary>
internal sealed class ShamirGf256SecretSharing : ISecretSharing
{
    private const int MaxIndex = 255;

    public int MaxShares => MaxIndex;

    public IReadOnlyList<SecretShare> Split(ReadOnlySpan<byte> secret, int threshold, int shareCount, IRandomSource rng)
    {
        ValidateThreshold(threshold);
        if (shareCount < threshold || shareCount > MaxIndex)
        {
            throw new ArgumentException(
                $"shareCount must be between threshold ({threshold}) and {MaxIndex}; got {shareCount}.",
                nameof(shareCount));
        }

        Span<int> indices = stackalloc int[shareCount];
        for (int i = 0; i < shareCount; i++)
        {
            indices[i] = i + 1;
        }

        return SplitAt(secret, threshold, indices, rng);
    }

    public IReadOnlyList<SecretShare> SplitAt(ReadOnlySpan<byte> secret, int threshold, ReadOnlySpan<int> indices, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (secret.IsEmpty)
        {
            throw new ArgumentException("The secret to split is empty.", nameof(secret));
        }

        ValidateThreshold(threshold);
        if (indices.Length < threshold)
        {
            throw new ArgumentException($"{indices.Length} share indices, fewer than the threshold {threshold}.", nameof(indices));
        }

        Span<bool> seen = stackalloc bool[MaxIndex + 1];
        foreach (int index in indices)
        {
            if (index is < 1 or > MaxIndex || seen[index])
            {
                throw new ArgumentException($"Share index {index} is outside 1..{MaxIndex} or repeated.", nameof(indices));
            }

            seen[index] = true;
        }

        int length = secret.Length;

        // coefficients[(k - 1) * length + j] is the x^k coefficient of byte j's polynomial (k = 1..threshold-1);
        // the constant term is the secret byte. All byte positions are evaluated together (Horner, vectorised).
        byte[] coefficients = SecretBytes.AllocatePinned((threshold - 1) * length);
        var shares = new SecretShare[indices.Length];
        int made = 0;
        try
        {
            rng.Fill(coefficients);
            for (; made < indices.Length; made++)
            {
                byte x = (byte)indices[made];
                byte[] value = SecretBytes.AllocatePinned(length);
                var y = value.AsSpan();
                if (threshold == 1)
                {
                    secret.CopyTo(y);
                }
                else
                {
                    // y = (((a_{t-1}·x + a_{t-2})·x + ...)·x + secret); x is a public index.
                    coefficients.AsSpan((threshold - 2) * length, length).CopyTo(y);
                    for (int k = threshold - 2; k >= 1; k--)
                    {
                        Gf256.MultiplyInPlace(y, x);
                        Gf256.Xor(y, coefficients.AsSpan((k - 1) * length, length));
                    }

                    Gf256.MultiplyInPlace(y, x);
                    Gf256.Xor(y, secret);
                }

                shares[made] = new SecretShare(indices[made], SecretBytes.Adopt(value));
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
            CryptographicOperations.ZeroMemory(coefficients);
        }

        return shares;
    }

    public SecretBytes Combine(IReadOnlyList<SecretShare> shares, int threshold)
    {
        ArgumentNullException.ThrowIfNull(shares);
        ValidateThreshold(threshold);
        if (shares.Count < threshold)
        {
            throw new ArgumentException(
                $"Reconstruction needs at least {threshold} shares; got {shares.Count}.", nameof(shares));
        }

        Span<bool> seen = stackalloc bool[MaxIndex + 1];
        int length = -1;
        for (int i = 0; i < shares.Count; i++)
        {
            var share = shares[i] ?? throw new ArgumentException($"Share {i} is null.", nameof(shares));

            // SecretShare's constructor enforces 1..255; checked again because index 0 would be the secret itself.
            if (share.Index is < 1 or > MaxIndex)
            {
                throw new ArgumentException($"Share index {share.Index} is outside 1..{MaxIndex}.", nameof(shares));
            }

            if (seen[share.Index])
            {
                throw new ArgumentException($"Share index {share.Index} appears more than once.", nameof(shares));
            }

            seen[share.Index] = true;
            int valueLength = share.Value.Length;
            if (valueLength == 0)
            {
                throw new ArgumentException($"Share {share.Index} has an empty value.", nameof(shares));
            }

            if (length >= 0 && valueLength != length)
            {
                throw new ArgumentException(
                    $"Share values differ in length ({length} and {valueLength} bytes).", nameof(shares));
            }

            length = valueLength;
        }

        Span<byte> xs = stackalloc byte[threshold];
        for (int i = 0; i < threshold; i++)
        {
            xs[i] = (byte)shares[i].Index;
        }

        byte[] secret = SecretBytes.AllocatePinned(length);
        Span<byte> basis = stackalloc byte[threshold];
        LagrangeBasisAt(0, xs, basis);
        Interpolate(shares, basis, secret);

        if (shares.Count > threshold)
        {
            // Surplus shares must agree with the interpolated polynomials; otherwise some share is corrupt.
            byte[] expected = SecretBytes.AllocatePinned(length);
            try
            {
                int mismatch = 0;
                for (int e = threshold; e < shares.Count; e++)
                {
                    LagrangeBasisAt((byte)shares[e].Index, xs, basis);
                    Interpolate(shares, basis, expected);
                    mismatch |= CryptographicOperations.FixedTimeEquals(expected, shares[e].Value.Reveal()) ? 0 : 1;
                }

                if (mismatch != 0)
                {
                    CryptographicOperations.ZeroMemory(secret);
                    throw new CryptographicException(
                        "The shares are inconsistent: at least one share does not lie on the polynomial of the others.");
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(expected);
            }
        }

        return SecretBytes.Adopt(secret);
    }

    private static void ValidateThreshold(int threshold)
    {
        if (threshold < 1 || threshold > MaxIndex)
        {
            throw new ArgumentException($"threshold must be between 1 and {MaxIndex}; got {threshold}.", nameof(threshold));
        }
    }

    // basis[i] = l_i(at) = prod_{m != i} (at - x_m) / (x_i - x_m); subtraction is xor in GF(2^8). Indices and
    // evaluation points are public, so the fast table arithmetic is safe here.
    private static void LagrangeBasisAt(byte at, ReadOnlySpan<byte> xs, Span<byte> basis)
    {
        for (int i = 0; i < xs.Length; i++)
        {
            byte numerator = 1;
            byte denominator = 1;
            for (int m = 0; m < xs.Length; m++)
            {
                if (m != i)
                {
                    numerator = Gf256.MultiplyPublic(numerator, (byte)(at ^ xs[m]));
                    denominator = Gf256.MultiplyPublic(denominator, (byte)(xs[i] ^ xs[m]));
                }
            }

            basis[i] = Gf256.MultiplyPublic(numerator, Gf256.InversePublic(denominator));
        }
    }

    // output[j] = sum_i basis[i] · y_i[j] over the first basis.Length shares (basis public, y secret).
    private static void Interpolate(IReadOnlyList<SecretShare> shares, ReadOnlySpan<byte> basis, Span<byte> output)
    {
        output.Clear();
        for (int i = 0; i < basis.Length; i++)
        {
            Gf256.MultiplyAccumulate(basis[i], shares[i].Value.Reveal(), output);
        }
    }
}
