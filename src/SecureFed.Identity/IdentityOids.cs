namespace SecureFed.Identity;

/// <summary>Object identifiers the consortium PKI uses (RFC 5280, section 4.2.1.12).</summary>
public static class IdentityOids
{
    /// <summary>id-kp-serverAuth: required on the coordinator certificate.</summary>
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <summary>id-kp-clientAuth: required on silo certificates.</summary>
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <summary>anyExtendedKeyUsage: never issued here and refused on peers.</summary>
    public const string AnyExtendedKeyUsage = "2.5.29.37.0";

    /// <summary>id-kp-codeSigning: not used by SecureFed; handy to mint a deliberately wrong certificate.</summary>
    public const string CodeSigning = "1.3.6.1.5.5.7.3.3";
}
