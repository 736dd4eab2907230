namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// A client could not open a share its sender signed: the sender committed to another key than the one the two
/// share, or its ciphertext does not open under that key. The client gives up the round and sends the server this
/// complaint with the directional share key (<see cref="ShareKey"/>), which opens only the accused's share to this
/// client; the server judges it against the accused's signed commitment (<see cref="SecAggServer.JudgeComplaint"/>).
/// </summary>
public sealed class ShareComplaintException : SecureFedException
{
    /// <summary>Creates the complaint.</summary>
    public ShareComplaintException(string accused, ReadOnlySpan<byte> shareKey, string reason)
        : base(FaultKind.InvalidArgument, $"the share from {accused} cannot be opened: {reason}")
    {
        Accused = accused;
        ShareKey = shareKey.ToArray();
        Reason = reason;
    }

    /// <summary>The sender of the share that failed.</summary>
    public string Accused { get; }

    /// <summary>The directional key (sender to this client) the client derived; revealing it discloses only the accused's share.</summary>
    public byte[] ShareKey { get; }

    /// <summary>What failed, in words (no key material).</summary>
    public string Reason { get; }
}

/// <summary>The server's verdict on a share complaint.</summary>
public enum ComplaintVerdict
{
    /// <summary>The revealed key is the one the accused committed to, and its signed ciphertext does not open under it: the accused sent garbage.</summary>
    AccusedAtFault,

    /// <summary>The accused's signed share opens under the key it committed to (or was never sent): the complaint is false.</summary>
    ComplainerAtFault,

    /// <summary>The revealed key is not the committed one: either the accused committed to a wrong key or the complainer revealed one; which cannot be told.</summary>
    Unresolved,
}
