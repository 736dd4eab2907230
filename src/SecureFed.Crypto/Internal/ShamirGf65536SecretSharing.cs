using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// Shamir sharing over GF(2^16) (<see cref="Gf65536"/>), word-wise on the secret read as little-endian 16-bit words;
/// see <see cref="ISecretSharing"/>. Share indices 1..65535, so any consortium size; secrets of an even length.
/// </summary>
/// <remarks>Reconstruction interpolates the first t shares at 0 (O(t^2) public table operations) and checks every
/// surplus share against the same polynomial in barycentric form, O(t) per surplus share, so reconstructing from
/// all n shares of a large consortium stays O(t^2 + n·t) rather than O(n·t^2).</remarks>
internal sealed class ShamirGf65536SecretSharing : ISecretSharing
{
    private const int MaxIndex = Gf65536.Order - 1;

    static ShamirGf65536SecretSharing()
    {
        // Shares are words read in host order; every supported platform (x64, arm64) is little-endian, and a
        // big-endian host would silently disagree with every other party.
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("GF(2^16) Shamir sharing needs a little-endian host.");
        }
    }

    public int MaxShares => MaxIndex;

    public int ElementSize => 2;

    public IReadOnlyList<SecretShare> Split(ReadOnlySpan<byte> secret, int threshold, int shareCount, IRandomSource rng)
    {
        ValidateThreshold(threshold);
        if (shareCount < threshold || shareCount > MaxIndex)
        {
            throw new ArgumentException(
                $"shareCount must be between threshold ({threshold}) and {MaxIndex}; got {shareCount}.", nameof(shareCount));
        }

        var indices = new int[shareCount];
        for (int i = 0; i < shareCount; i++)
        {
            indices[i] = i + 1;
        }

        return SplitAt(secret, threshold, indices, rng);
    }

    public IReadOnlyList<SecretShare> SplitAt(ReadOnlySpan<byte> secret, int threshold, ReadOnlySpan<int> indices, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ValidateSecret(secret.Length, nameof(secret));
        ValidateThreshold(threshold);
        if (indices.Length < threshold)
        {
            throw new ArgumentException($"{indices.Length} share indices, fewer than the threshold {threshold}.", nameof(indices));
        }

        var seen = new HashSet<int>();
        foreach (int index in indices)
        {
            if (index is < 1 or > MaxIndex || !seen.Add(index))
            {
                throw new ArgumentException($"Share index {index} is outside 1..{MaxIndex} or repeated.", nameof(indices));
            }
        }

        int words = secret.Length / 2;
        var secretWords = MemoryMarshal.Cast<byte, ushort>(secret);

        // coefficients[(k - 1) * words + j] is the x^k coefficient of word j's polynomial; the constant term is the secret.
        byte[] coefficientBytes = SecretBytes.AllocatePinned((threshold - 1) * secret.Length);
        var coefficients = MemoryMarshal.Cast<byte, ushort>(coefficientBytes.AsSpan());
        var shares = new SecretShare[indices.Length];
        int made = 0;
        try
        {
            rng.Fill(coefficientBytes);
            for (; made < indices.Length; made++)
            {
                ushort x = (ushort)indices[made];
                byte[] value = SecretBytes.AllocatePinned(secret.Length);
                var y = MemoryMarshal.Cast<byte, ushort>(value.AsSpan());
                if (threshold == 1)
                {
                    secretWords.CopyTo(y);
                }
                else
                {
                    // Horner: y = (((a_{t-1}·x + a_{t-2})·x + ...)·x + secret); x is a public index.
                    coefficients.Slice((threshold - 2) * words, words).CopyTo(y);
                    for (int k = threshold - 2; k >= 1; k--)
                    {
                        Gf65536.MultiplyInPlace(y, x);
                        Gf65536.Xor(y, coefficients.Slice((k - 1) * words, words));
                    }

                    Gf65536.MultiplyInPlace(y, x);
                    Gf65536.Xor(y, secretWords);
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
            CryptographicOperations.ZeroMemory(coefficientBytes);
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

        var seen = new HashSet<int>();
        int length = -1;
        for (int i = 0; i < shares.Count; i++)
        {
            var share = shares[i] ?? throw new ArgumentException($"Share {i} is null.", nameof(shares));
            if (share.Index is < 1 or > MaxIndex)
            {
                throw new ArgumentException($"Share index {share.Index} is outside 1..{MaxIndex}.", nameof(shares));
            }

            if (!seen.Add(share.Index))
            {
                throw new ArgumentException($"Share index {share.Index} appears more than once.", nameof(shares));
            }

            int valueLength = share.Value.Length;
            ValidateSecret(valueLength, nameof(shares));
            if (length >= 0 && valueLength != length)
            {
                throw new ArgumentException($"Share values differ in length ({length} and {valueLength} bytes).", nameof(shares));
            }

            length = valueLength;
        }

        var xs = new ushort[threshold];
        for (int i = 0; i < threshold; i++)
        {
            xs[i] = (ushort)shares[i].Index;
        }

        // Barycentric weights w_i = 1 / prod_{m != i} (x_i - x_m) (subtraction is xor): public, computed once.
        var weights = new ushort[threshold];
        for (int i = 0; i < threshold; i++)
        {
            ushort denominator = 1;
            for (int m = 0; m < threshold; m++)
            {
                if (m != i)
                {
                    denominator = Gf65536.MultiplyPublic(denominator, (ushort)(xs[i] ^ xs[m]));
                }
            }

            weights[i] = Gf65536.InversePublic(denominator);
        }

        var basis = new ushort[threshold];
        byte[] secret = SecretBytes.AllocatePinned(length);
        BasisAt(0, xs, weights, basis);
        Interpolate(shares, basis, MemoryMarshal.Cast<byte, ushort>(secret.AsSpan()));
        if (shares.Count > threshold)
        {
            byte[] expected = SecretBytes.AllocatePinned(length);
            try
            {
                int mismatch = 0;
                for (int e = threshold; e < shares.Count; e++)
                {
                    BasisAt((ushort)shares[e].Index, xs, weights, basis);
                    Interpolate(shares, basis, MemoryMarshal.Cast<byte, ushort>(expected.AsSpan()));
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

    private static void ValidateSecret(int length, string name)
    {
        if (length == 0 || length % 2 != 0)
        {
            throw new ArgumentException($"Secrets shared over GF(2^16) must have a non-zero even length; got {length} bytes.", name);
        }
    }

    private static void ValidateThreshold(int threshold)
    {
        if (threshold < 1 || threshold > MaxIndex)
        {
            throw new ArgumentException($"threshold must be between 1 and {MaxIndex}; got {threshold}.", nameof(threshold));
        }
    }

    // basis[i] = l_i(at) = w_i · prod_{m != i} (at - x_m). At a node x_i itself (at = 0 never is one) the basis is
    // the unit vector; otherwise l_i(at) = w_i · L(at) / (at - x_i) with L(at) = prod_m (at - x_m): O(t).
    private static void BasisAt(ushort at, ushort[] xs, ushort[] weights, ushort[] basis)
    {
        ushort whole = 1;
        for (int m = 0; m < xs.Length; m++)
        {
            whole = Gf65536.MultiplyPublic(whole, (ushort)(at ^ xs[m]));
        }

        for (int i = 0; i < xs.Length; i++)
        {
            basis[i] = Gf65536.MultiplyPublic(
                weights[i], Gf65536.MultiplyPublic(whole, Gf65536.InversePublic((ushort)(at ^ xs[i]))));
        }
    }

    private static void Interpolate(IReadOnlyList<SecretShare> shares, ReadOnlySpan<ushort> basis, Span<ushort> output)
    {
        output.Clear();
        for (int i = 0; i < basis.Length; i++)
        {
            Gf65536.MultiplyAccumulate(basis[i], MemoryMarshal.Cast<byte, ushort>(shares[i].Value.Reveal()), output);
        }
    }
}
