namespace SecureFed.ModelExport;

/// <summary>
/// An export was refused because what it would certify does not hold: the ledger does not verify, the store and the
/// signed ledger disagree (model hash, ledger head, study or statistics hash), or the federation has no completed
/// training round. The message is one line naming what differs.
/// </summary>
public sealed class ExportRefusedException : Exception
{
    /// <summary>Creates the exception with its one-line message.</summary>
    public ExportRefusedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public ExportRefusedException()
        : this("the export was refused")
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ExportRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
