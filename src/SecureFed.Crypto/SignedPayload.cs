using System.Buffers.Binary;
using System.Text;

namespace SecureFed.Crypto;

/// <summary>
/// Injective byte encoding for signed payloads: each field is written as a 4-byte big-endian length followed
/// by its bytes. Different field lists always encode differently — ("a","bc") and ("ab","c") differ — so a
/// signature over one list cannot be replayed as a signature over another. Start every list with a purpose
/// label (e.g. <c>Utf8("securefed/v1/advertise-keys")</c>) so signatures made for one protocol step never
/// verify for another. Thread-safe (stateless).
/// </summary>
public static class SignedPayload
{
    /// <summary>Length-prefixes and concatenates <paramref name="fields"/>.</summary>
    public static byte[] Encode(params ReadOnlySpan<ReadOnlyMemory<byte>> fields)
    {
        long total = 0;
        foreach (var field in fields)
        {
            total += sizeof(uint) + field.Length;
        }

        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"The encoded payload would be {total} bytes, more than an array holds.", nameof(fields));
        }

        var output = new byte[total];
        var rest = output.AsSpan();
        foreach (var field in fields)
        {
            BinaryPrimitives.WriteUInt32BigEndian(rest, (uint)field.Length);
            field.Span.CopyTo(rest[sizeof(uint)..]);
            rest = rest[(sizeof(uint) + field.Length)..];
        }

        return output;
    }

    /// <summary>A field holding <paramref name="value"/> as 8 big-endian bytes.</summary>
    public static byte[] UInt64(ulong value)
    {
        var bytes = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>A field holding the UTF-8 bytes of <paramref name="value"/>.</summary>
    public static byte[] Utf8(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Encoding.UTF8.GetBytes(value);
    }
}
