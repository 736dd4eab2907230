using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SecureFed.Hosting.Internal;

/// <summary>
/// The TCP payload bytes this process's open TCP sockets have sent (acknowledged by the peer) and received, from
/// Linux's per-socket TCP_INFO (tcpi_bytes_acked, tcpi_bytes_received, kernel 4.2 on): for a benchmark agent alone
/// in its process with one connection, the bytes its TLS connection carried each way. Null elsewhere.
/// </summary>
internal static class TcpCounters
{
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;
    private const int BytesAckedOffset = 120;
    private const int BytesReceivedOffset = 128;

    /// <summary>(received, sent) summed over the process's open TCP sockets (0 before any), or nulls where TCP_INFO cannot be read.</summary>
    public static (long? Received, long? Sent) Read()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (null, null);
        }

        try
        {
            long received = 0, sent = 0;
            var info = new byte[256];
            foreach (var entry in new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos())
            {
                if (entry.LinkTarget is not { } target || !target.StartsWith("socket:", StringComparison.Ordinal)
                    || !int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var fd))
                {
                    continue;
                }

                // Not a TCP socket (a Unix socket, an event pipe): getsockopt fails, and it is skipped.
                var length = info.Length;
                if (NativeMethods.getsockopt(fd, IpProtoTcp, TcpInfo, info, ref length) != 0 || length < BytesReceivedOffset + 8)
                {
                    continue;
                }

                sent += BinaryPrimitives.ReadInt64LittleEndian(info.AsSpan(BytesAckedOffset));
                received += BinaryPrimitives.ReadInt64LittleEndian(info.AsSpan(BytesReceivedOffset));
            }

            return (received, sent);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return (null, null);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int getsockopt(int socket, int level, int optionName, [Out] byte[] optionValue, ref int optionLength);
    }
}
