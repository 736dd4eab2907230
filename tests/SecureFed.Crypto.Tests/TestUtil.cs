namespace SecureFed.Crypto.Tests;

internal static class TestUtil
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static byte[] Range(int from, int toExclusive)
    {
        var bytes = new byte[toExclusive - from];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(from + i);
        }

        return bytes;
    }
}

/// <summary>Hands out a fixed byte sequence, then fails: lets a test control every random byte.</summary>
internal sealed class ScriptedRandomSource(byte[] script) : IRandomSource
{
    private int _position;

    public void Fill(Span<byte> destination)
    {
        if (_position + destination.Length > script.Length)
        {
            throw new InvalidOperationException("The scripted random source ran out of bytes.");
        }

        script.AsSpan(_position, destination.Length).CopyTo(destination);
        _position += destination.Length;
    }
}
