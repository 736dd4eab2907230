namespace SecureFed.Identity;

/// <summary>Why a peer certificate was refused. Stable values: hosts log and count them.</summary>
public enum PeerValidationFailure
{
    /// <summary>Not refused: the certificate was accepted.</summary>
    None = 0,

    /// <summary>The peer presented no certificate.</summary>
    NoCertificate = 1,

    /// <summary>The certificate does not chain to the consortium root (foreign CA, bad signature, or the root itself).</summary>
    UntrustedIssuer = 2,

    /// <summary>The certificate (or the consortium root) is past its not-after date at the validator's clock.</summary>
    Expired = 3,

    /// <summary>The certificate (or the consortium root) is before its not-before date at the validator's clock.</summary>
    NotYetValid = 4,

    /// <summary>The certificate is not meant for this role: missing or wrong extended key usage, a CA certificate, or a key usage without digitalSignature.</summary>
    WrongUsage = 5,

    /// <summary>A silo certificate does not carry exactly one well-formed <c>securefed://silo/&lt;id&gt;</c> SAN URI.</summary>
    MissingSiloId = 6,

    /// <summary>The coordinator's certificate does not name the host the client connected to.</summary>
    NameMismatch = 7,

    /// <summary>Any other chain problem (for example a malformed extension); the message says which.</summary>
    Other = 8,

    /// <summary>The certificate or its silo id is on the consortium's deny-list, or the deny-list itself cannot be trusted.</summary>
    Revoked = 9,

    /// <summary>The silo's certificate is not the one pinned for its id in the coordinator's <c>Members</c>.</summary>
    PinMismatch = 10,
}
