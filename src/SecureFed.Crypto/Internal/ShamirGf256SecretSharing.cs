using System.Security.Cryptography;

namespace SecureFed.Crypto.Internal;

/// <summary>Shamir sharing over GF(2^8); see <see cref="ISecretSharing"/>.</summary>
internal sealed class ShamirGf256SecretSharing : ISecretSharing
{
    private const int MaxIndex = 255;

    public int MaxShares => MaxIndex;

    public IReadOnlyList<SecretShare> Split(ReadOnlySpan<byte> secret, int threshold, int shareCount, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (secret.IsEmpty)
        {
            throw new ArgumentException("The secret to split is empty.", nameof(secret));
        }

        ValidateThreshold(threshold);
        if (shareCount < threshold || shareCount > MaxIndex)
        {
            throw new ArgumentException(
                $"shareCount must be between threshold ({threshold}) and {MaxIndex}; got {shareCount}.",
                nameof(shareCount));
        }

        int length = secret.Length;

        // coefficients[(k - 1) * length + j] is the x^k coefficient of byte j's polynomial (k = 1..threshold-1);
        // the constant term is the secret byte.
        byte[] coefficients = SecretBytes.AllocatePinned((threshold - 1) * length);
        var shares = new SecretShare[shareCount];
        try
        {
            rng.Fill(coefficients);
            for (int s = 0; s < shareCount; s++)
            {
                byte x = (byte)(s + 1);
                byte[] value = SecretBytes.AllocatePinned(length);
                for (int j = 0; j < length; j++)
                {
                    // Horner: (((a_{t-1}·x + a_{t-2})·x + ...)·x + secret).
                    byte y = 0;
                    for (int k = threshold - 1; k >= 1; k--)
                    {
                        y = (byte)(Gf256.Multiply(y, x) ^ coefficients[((k - 1) * length) + j]);
                    }

                    value[j] = (byte)(Gf256.Multiply(y, x) ^ secret[j]);
                }

                shares[s] = new SecretShare(s + 1, SecretBytes.Adopt(value));
            }
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

    // basis[i] = l_i(at) = prod_{m != i} (at - x_m) / (x_i - x_m); subtraction is xor in GF(2^8).
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
                    numerator = Gf256.Multiply(numerator, (byte)(at ^ xs[m]));
                    denominator = Gf256.Multiply(denominator, (byte)(xs[i] ^ xs[m]));
                }
            }

            basis[i] = Gf256.Multiply(numerator, Gf256.Inverse(denominator));
        }
    }

    // output[j] = sum_i basis[i] · y_i[j] over the first basis.Length shares.
    private static void Interpolate(IReadOnlyList<SecretShare> shares, ReadOnlySpan<byte> basis, Span<byte> output)
    {
        output.Clear();
        for (int i = 0; i < basis.Length; i++)
        {
            var y = shares[i].Value.Reveal();
            byte l = basis[i];
            for (int j = 0; j < output.Length; j++)
            {
                output[j] ^= Gf256.Multiply(l, y[j]);
            }
        }
    }
}
