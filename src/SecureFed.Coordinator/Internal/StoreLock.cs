using System.Globalization;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// One writer per store: an exclusive operating-system lock on <c>&lt;store&gt;.lock</c> (on Linux a <c>flock</c>, which
/// .NET takes for <see cref="FileShare.None"/>; on Windows a sharing lock), held while the instance lives. The kernel
/// drops it when the holding process ends, however it ends (kill -9 included), so a crash never leaves a stale lock.
/// Readers (audit, model export) take no lock. Because a locked file cannot be read through .NET on Linux, the holder
/// describes itself in <c>&lt;store&gt;.lock.owner</c> (pid, host, start time), which a refused contender quotes. Neither
/// file is removed on release: removing a lock file races with the next holder. Dispose releases the lock.
/// </summary>
internal sealed class StoreLock : IDisposable
{
    private readonly FileStream _lock;

    private StoreLock(FileStream stream, string storePath)
    {
        _lock = stream;
        StorePath = storePath;
    }

    /// <summary>The store (full path) this lock guards.</summary>
    public string StorePath { get; }

    /// <summary>Takes the lock of the store at <paramref name="storePath"/>, or throws naming the holder.</summary>
    /// <exception cref="FederationStoreException">Another process (or another coordinator in this one) holds it, or the
    /// lock file cannot be created.</exception>
    public static StoreLock Acquire(string storePath)
    {
        var full = Path.GetFullPath(storePath);
        var lockPath = full + ".lock";
        FileStream stream;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (File.Exists(lockPath) && IsSharingViolation(ex))
        {
            throw new FederationStoreException(
                FederationStoreProblem.InUse,
                $"store {full} is in use by another coordinator ({Holder(full)}); one coordinator per store: stop that one first, or read the store without writing (audit, model export)",
                ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw FederationStoreException.FromIo(full, "creating its lock file " + lockPath, ex);
        }

        try
        {
            File.WriteAllText(full + ".lock.owner", string.Create(
                CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTimeOffset.UtcNow:O}\n"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The owner note only helps a refused contender name the holder; the lock itself is what counts.
        }

        return new StoreLock(stream, full);
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>What the holder wrote about itself, or "pid unknown" when it wrote nothing readable.</summary>
    private static string Holder(string store)
    {
        try
        {
            var text = File.ReadAllText(store + ".lock.owner").Trim();
            return text.Length is > 0 and < 200 && text.All(c => !char.IsControl(c)) ? "held by " + text : "pid unknown";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "pid unknown";
        }
    }

    // EWOULDBLOCK (11) on Linux, ERROR_SHARING_VIOLATION (32) / ERROR_LOCK_VIOLATION (33) on Windows.
    private static bool IsSharingViolation(IOException ex) => ex.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);
}
