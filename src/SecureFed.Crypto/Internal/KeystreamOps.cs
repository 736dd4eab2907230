using System.Runtime.Intrinsics;

namespace SecureFed.Crypto.Internal;

/// <summary>How a 16-byte keystream block is combined with 16 bytes of data. Implemented by empty structs so
/// the JIT specialises and inlines the AES-CTR kernel once per operation.</summary>
internal interface IKeystreamOp
{
    /// <summary>Whether <see cref="Combine"/> looks at the existing data (false: the data is overwritten).</summary>
    static abstract bool ReadsData { get; }

    static abstract Vector128<byte> Combine(Vector128<byte> data, Vector128<byte> keystream);
}

/// <summary>data = keystream.</summary>
internal readonly struct WriteOp : IKeystreamOp
{
    public static bool ReadsData => false;

    public static Vector128<byte> Combine(Vector128<byte> data, Vector128<byte> keystream) => keystream;
}

/// <summary>Lane-wise addition mod 2^64 (vector addition wraps).</summary>
internal readonly struct Add64Op : IKeystreamOp
{
    public static bool ReadsData => true;

    public static Vector128<byte> Combine(Vector128<byte> data, Vector128<byte> keystream) =>
        (data.AsUInt64() + keystream.AsUInt64()).AsByte();
}

/// <summary>Lane-wise subtraction mod 2^64.</summary>
internal readonly struct Subtract64Op : IKeystreamOp
{
    public static bool ReadsData => true;

    public static Vector128<byte> Combine(Vector128<byte> data, Vector128<byte> keystream) =>
        (data.AsUInt64() - keystream.AsUInt64()).AsByte();
}

/// <summary>Lane-wise addition mod 2^32.</summary>
internal readonly struct Add32Op : IKeystreamOp
{
    public static bool ReadsData => true;

    public static Vector128<byte> Combine(Vector128<byte> data, Vector128<byte> keystream) =>
        (data.AsUInt32() + keystream.AsUInt32()).AsByte();
}

/// <summary>Lane-wise subtraction mod 2^32.</summary>
internal readonly struct Subtract32Op : IKeystreamOp
{
    public static bool ReadsData => true;

    public static Vector128<byte> Combine(Vector128<byte> data, Vector128<byte> keystream) =>
        (data.AsUInt32() - keystream.AsUInt32()).AsByte();
}
