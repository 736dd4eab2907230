namespace SecureFed.Crypto;

/// <summary>
/// The names of the mask PRGs (<see cref="IMaskGenerator"/>) a secure aggregation plan can fix. Every party of a
/// round must expand masks with the same one, so the name is part of the plan, its hash and the round context.
/// </summary>
/// <remarks>
/// AES-128-CTR is the default of new plans: the masks' seeds come from X25519 agreements and are shared under
/// ChaCha20-Poly1305 and P-256 signatures, all at the 128-bit level, so a 256-bit key adds no strength to the round,
/// and 10 AES rounds instead of 14 make the keystream, the largest cost of a secure round, 1.4 times cheaper.
/// AES-256-CTR remains for plans made before the choice existed and for policies that name it.
/// </remarks>
public static class MaskPrgs
{
    /// <summary>AES-128 in counter mode, the default of new plans.</summary>
    public const string Aes128Ctr = "aes-128-ctr";

    /// <summary>AES-256 in counter mode: every plan made before the name was part of the plan.</summary>
    public const string Aes256Ctr = "aes-256-ctr";

    /// <summary>The names, in order of preference.</summary>
    public static IReadOnlyList<string> All { get; } = [Aes128Ctr, Aes256Ctr];
}
