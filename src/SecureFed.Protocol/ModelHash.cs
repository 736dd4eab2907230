using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecureFed.Protocol;

/// <summary>Content hash of a parameter vector: SHA-256 over the IEEE-754 little-endian bytes, lowercase hex.</summary>
public static class ModelHash
{
    /// <summary>Computes the hash of <paramref name="parameters"/>.</summary>
    public static string Compute(ReadOnlySpan<float> parameters)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("model hashing assumes a little-endian machine");
        }

        return Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(parameters)));
    }
}
