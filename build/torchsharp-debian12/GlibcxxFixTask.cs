// MSBuild inline task (RoslynCodeTaskFactory, Type="Class"), used by the repository's Directory.Build.targets.
// It is compiled by MSBuild against netstandard, not by the solution, so it sticks to netstandard2.0 APIs.
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so is built with GCC 13 and requires the symbol version
// GLIBCXX_3.4.32, only for std::ios_base_library_init(). Debian 12's libstdc++ (GCC 12) stops at 3.4.30, so
// ld.so refuses to load the library. The fix (see README.md next to this file):
//   1. mark the GLIBCXX_3.4.32 entry of .gnu.version_r WEAK (VER_FLG_WEAK) in each copied libLibTorchSharp.so,
//      so ld.so no longer rejects the library when the version node is missing;
//   2. compile a tiny shim (ios_init_shim.cpp + shim.map) that defines _ZSt21ios_base_library_initv@GLIBCXX_3.4.32
//      and put it next to every patched copy; SecureFed.Training's TorchRuntime dlopens it RTLD_NOW|RTLD_GLOBAL
//      before the first torch call, so the (now weak-versioned) reference binds to it.
// Mode: auto (do it only when the build machine's libstdc++ lacks the version), always, never.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class SecureFedTorchSharpGlibcxxFix : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>Copies of libLibTorchSharp.so to patch in place (each is replaced atomically).</summary>
    [Required]
    public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>auto | always | never.</summary>
    public string Mode { get; set; } = "auto";

    /// <summary>The symbol version to mark weak.</summary>
    public string RequiredVersion { get; set; } = "GLIBCXX_3.4.32";

    [Required]
    public string ShimSource { get; set; } = "";

    [Required]
    public string ShimVersionScript { get; set; } = "";

    /// <summary>Where the shim is compiled once per project (obj/), before it is copied next to each library.</summary>
    [Required]
    public string ShimIntermediatePath { get; set; } = "";

    /// <summary>C++ compiler (name looked up on PATH, or a path).</summary>
    public string Compiler { get; set; } = "g++";

    /// <summary>Files written into the output folders (the shim copies), for FileWrites.</summary>
    [Output]
    public ITaskItem[] WrittenFiles { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        string mode = (Mode ?? "auto").Trim().ToLowerInvariant();
        if (mode == "never" || mode == "false")
        {
            Log.LogMessage(MessageImportance.Normal, "SecureFed TorchSharp fix: disabled (SecureFedTorchSharpFix=never).");
            return true;
        }

        if (mode != "auto" && mode != "always")
        {
            Log.LogError("SecureFed TorchSharp fix: SecureFedTorchSharpFix must be auto, always or never, not '{0}'.", Mode);
            return false;
        }

        if (mode == "auto")
        {
            string libstdcxx = FindLibStdCxx();
            if (libstdcxx != null && FileContains(libstdcxx, Encoding.ASCII.GetBytes(RequiredVersion + "\0")))
            {
                Log.LogMessage(MessageImportance.Normal,
                    "SecureFed TorchSharp fix: not needed, {0} provides {1}; libLibTorchSharp.so left unchanged, no shim built.",
                    libstdcxx, RequiredVersion);
                return true;
            }

            Log.LogMessage(MessageImportance.Normal, "SecureFed TorchSharp fix: {0} lacks {1}; patching.",
                libstdcxx ?? "libstdc++.so.6 (not found)", RequiredVersion);
        }

        try
        {
            foreach (ITaskItem item in Libraries)
            {
                string path = item.GetMetadata("FullPath");
                int changed = WeakenVersion(path, RequiredVersion, out int found);
                if (found == 0)
                {
                    Log.LogMessage(MessageImportance.Normal, "SecureFed TorchSharp fix: {0} does not require {1}; nothing to patch.", path, RequiredVersion);
                }
                else
                {
                    Log.LogMessage(changed > 0 ? MessageImportance.High : MessageImportance.Low,
                        "SecureFed TorchSharp fix: {0}: {1} requirement on {2} marked weak ({3} already weak).",
                        path, changed, RequiredVersion, found - changed);
                }
            }

            if (!BuildShim())
            {
                return false;
            }

            var written = new List<ITaskItem>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (ITaskItem item in Libraries)
            {
                string dir = Path.GetDirectoryName(item.GetMetadata("FullPath"));
                if (dir == null || !seen.Add(dir))
                {
                    continue;
                }

                string target = Path.Combine(dir, "libstdcxx_ios_shim.so");
                CopyIfChanged(ShimIntermediatePath, target);
                written.Add(new TaskItem(target));
            }

            WrittenFiles = written.ToArray();
            return true;
        }
        catch (Exception ex) when (ex is IOException || ex is InvalidDataException || ex is UnauthorizedAccessException)
        {
            Log.LogError("SecureFed TorchSharp fix failed: {0}", ex.Message);
            return false;
        }
    }

    private bool BuildShim()
    {
        string output = Path.GetFullPath(ShimIntermediatePath);
        if (File.Exists(output)
            && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(ShimSource)
            && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(ShimVersionScript))
        {
            return true;
        }

        // The compiler is only needed when the shim is missing or stale.
        string compiler = ResolveCompiler(Compiler);
        if (compiler == null)
        {
            Log.LogError(
                "SecureFed TorchSharp fix: the system libstdc++ lacks {0}, which TorchSharp's libLibTorchSharp.so needs, and the C++ compiler '{1}' " +
                "was not found on PATH to build the compatibility shim. Install g++ (apt-get install g++), point SecureFedCxx at a compiler, " +
                "or set SecureFedTorchSharpFix=never if this machine only builds and never runs torch code. See build/torchsharp-debian12/README.md.",
                RequiredVersion, Compiler);
            return false;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(output));
        string temp = output + "." + Guid.NewGuid().ToString("N") + ".tmp";
        string args = "-O2 -shared -fPIC -Wl,--version-script=" + Quote(ShimVersionScript) + " -o " + Quote(temp) + " " + Quote(ShimSource);
        Log.LogMessage(MessageImportance.High, "SecureFed TorchSharp fix: building {0}", output);
        var psi = new ProcessStartInfo(compiler, args)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        using (Process p = Process.Start(psi))
        {
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(temp))
            {
                Log.LogError("SecureFed TorchSharp fix: '{0} {1}' failed with exit code {2}: {3}", compiler, args, p.ExitCode, stderr);
                TryDelete(temp);
                return false;
            }
        }

        ReplaceFile(temp, output);
        return true;
    }

    /// <summary>
    /// Sets VER_FLG_WEAK on every Vernaux entry named <paramref name="version"/> in an ELF64 little-endian file's
    /// SHT_GNU_verneed section(s). Returns how many entries were changed; <paramref name="found"/> counts matches.
    /// The file is rewritten through a temporary copy and a rename (never in place, so a hard link into the NuGet
    /// cache or a process that has the library mapped is not affected), keeping its modification time so that
    /// MSBuild's incremental copy sees it as up to date.
    /// </summary>
    private static int WeakenVersion(string path, string version, out int found)
    {
        byte[] b = File.ReadAllBytes(path);
        if (!BitConverter.IsLittleEndian)
        {
            throw new InvalidDataException("this patcher runs on little-endian hosts only");
        }

        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
        {
            throw new InvalidDataException(path + " is not an ELF64 little-endian file");
        }

        byte[] want = Encoding.ASCII.GetBytes(version);
        ulong shoff = BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        Check(b, shoff, (ulong)shentsize * (ulong)shnum, path);
        if (shentsize < 64)
        {
            throw new InvalidDataException(path + ": unexpected section header size");
        }

        var flagOffsets = new List<int>();
        found = 0;
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            uint type = BitConverter.ToUInt32(b, sh + 4);
            if (type != ShtGnuVerneed)
            {
                continue;
            }

            ulong secOff = BitConverter.ToUInt64(b, sh + 0x18);
            ulong secSize = BitConverter.ToUInt64(b, sh + 0x20);
            uint link = BitConverter.ToUInt32(b, sh + 0x28);
            uint count = BitConverter.ToUInt32(b, sh + 0x2C);
            Check(b, secOff, secSize, path);
            if (link >= shnum)
            {
                throw new InvalidDataException(path + ": bad sh_link in .gnu.version_r");
            }

            ulong strOff = BitConverter.ToUInt64(b, checked((int)shoff + (int)link * shentsize) + 0x18);
            ulong strSize = BitConverter.ToUInt64(b, checked((int)shoff + (int)link * shentsize) + 0x20);
            Check(b, strOff, strSize, path);

            ulong off = secOff;
            for (uint n = 0; n < count; n++)
            {
                Check(b, off, 16, path);
                int vnCnt = BitConverter.ToUInt16(b, (int)off + 2);
                uint vnAux = BitConverter.ToUInt32(b, (int)off + 8);
                uint vnNext = BitConverter.ToUInt32(b, (int)off + 12);
                ulong aux = off + vnAux;
                for (int a = 0; a < vnCnt; a++)
                {
                    Check(b, aux, 16, path);
                    uint name = BitConverter.ToUInt32(b, (int)aux + 8);
                    uint auxNext = BitConverter.ToUInt32(b, (int)aux + 12);
                    if (name < strSize && NameEquals(b, (int)(strOff + name), want))
                    {
                        found++;
                        ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            flagOffsets.Add((int)aux + 4);
                        }
                    }

                    if (auxNext == 0)
                    {
                        break;
                    }

                    aux += auxNext;
                }

                if (vnNext == 0)
                {
                    break;
                }

                off += vnNext;
            }
        }

        if (flagOffsets.Count == 0)
        {
            return 0;
        }

        foreach (int at in flagOffsets)
        {
            ushort flags = (ushort)(BitConverter.ToUInt16(b, at) | VerFlgWeak);
            b[at] = (byte)(flags & 0xff);
            b[at + 1] = (byte)(flags >> 8);
        }

        DateTime mtime = File.GetLastWriteTimeUtc(path);
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.Copy(path, temp); // carries the file mode over to the replacement
        File.WriteAllBytes(temp, b);
        File.SetLastWriteTimeUtc(temp, mtime);
        ReplaceFile(temp, path);
        return flagOffsets.Count;
    }

    private static bool NameEquals(byte[] b, int at, byte[] want)
    {
        if (at < 0 || at + want.Length >= b.Length)
        {
            return false;
        }

        for (int i = 0; i < want.Length; i++)
        {
            if (b[at + i] != want[i])
            {
                return false;
            }
        }

        return b[at + want.Length] == 0;
    }

    private static void Check(byte[] b, ulong offset, ulong length, string path)
    {
        if (offset > (ulong)b.Length || length > (ulong)b.Length - offset)
        {
            throw new InvalidDataException(path + ": ELF structure points outside the file");
        }
    }

    private static void CopyIfChanged(string source, string target)
    {
        if (File.Exists(target))
        {
            var s = new FileInfo(source);
            var t = new FileInfo(target);
            if (s.Length == t.Length && s.LastWriteTimeUtc == t.LastWriteTimeUtc)
            {
                return;
            }
        }

        string temp = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.Copy(source, temp, true);
        File.SetLastWriteTimeUtc(temp, File.GetLastWriteTimeUtc(source));
        ReplaceFile(temp, target);
    }

    private static void ReplaceFile(string temp, string target)
    {
        try
        {
            if (File.Exists(target))
            {
                File.Replace(temp, target, null);
            }
            else
            {
                File.Move(temp, target);
            }
        }
        finally
        {
            TryDelete(temp);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Quote(string s)
    {
        return "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
    }

    private static string ResolveCompiler(string compiler)
    {
        if (string.IsNullOrWhiteSpace(compiler))
        {
            compiler = "g++";
        }

        if (compiler.IndexOf('/') >= 0)
        {
            return File.Exists(compiler) ? compiler : null;
        }

        string pathVar = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (string dir in pathVar.Split(':'))
        {
            if (dir.Length == 0)
            {
                continue;
            }

            string candidate = Path.Combine(dir, compiler);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// The libstdc++ the dynamic loader would use: the one mapped into this (MSBuild) process if any,
    /// else the first of the usual multiarch locations.
    /// </summary>
    private static string FindLibStdCxx()
    {
        try
        {
            if (File.Exists("/proc/self/maps"))
            {
                foreach (string line in File.ReadAllLines("/proc/self/maps"))
                {
                    int slash = line.IndexOf('/');
                    if (slash >= 0 && line.IndexOf("libstdc++.so.6", StringComparison.Ordinal) >= 0)
                    {
                        string mapped = line.Substring(slash).Trim();
                        if (File.Exists(mapped))
                        {
                            return mapped;
                        }
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };
        foreach (string c in candidates)
        {
            if (File.Exists(c))
            {
                return c;
            }
        }

        return null;
    }

    private static bool FileContains(string path, byte[] needle)
    {
        byte[] hay = File.ReadAllBytes(path);
        int last = hay.Length - needle.Length;
        for (int i = 0; i <= last; i++)
        {
            if (hay[i] != needle[0])
            {
                continue;
            }

            int j = 1;
            while (j < needle.Length && hay[i + j] == needle[j])
            {
                j++;
            }

            if (j == needle.Length)
            {
                return true;
            }
        }

        return false;
    }
}
