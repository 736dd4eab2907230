namespace SecureFed.Identity.Internal;

/// <summary>The role a peer certificate is checked for.</summary>
internal enum PeerRole
{
    Silo,
    Coordinator,
}
