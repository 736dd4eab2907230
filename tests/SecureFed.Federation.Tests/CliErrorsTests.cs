using System.Text.RegularExpressions;
using SecureFed.Cli.Commands;

namespace SecureFed.Federation.Tests;

/// <summary>The one place exceptions become exit codes: a user's mistake is one line, a bug is one line plus its trace kept.</summary>
public sealed class CliErrorsTests
{
    [Fact]
    public async Task RunAsync_UnexpectedException_OneLineNamingTheTraceFile_ExitsOne()
    {
        var (code, stderr) = await RunAsync(() => throw new NullReferenceException("boom"));

        Assert.Equal(CliErrors.Failed, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("error: unexpected NullReferenceException: boom (a bug; full trace in ", line, StringComparison.Ordinal);
        Assert.Contains("set SECUREFED_DEBUG=1 to print it here", line, StringComparison.Ordinal);
        var file = Regex.Match(line, @"full trace in (\S+\.txt)").Groups[1].Value;
        try
        {
            var trace = await File.ReadAllTextAsync(file);
            Assert.Contains("System.NullReferenceException: boom", trace, StringComparison.Ordinal);
            Assert.Contains(" at ", trace, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("argument", 2)]
    [InlineData("config", 2)]
    [InlineData("missing", 2)]
    [InlineData("io", 1)]
    [InlineData("crypto", 1)]
    [InlineData("policy", 1)]
    [InlineData("rpc", 1)]
    public async Task RunAsync_UserCausedFailures_OneLineWithoutTrace(string kind, int expected)
    {
        Exception error = kind switch
        {
            "argument" => new ArgumentException("option Port = 0 is invalid"),
            "config" => new InvalidDataException("x.json: unknown key"),
            "missing" => new FileNotFoundException("no such file"),
            "io" => new IOException("disk full"),
            "crypto" => new System.Security.Cryptography.CryptographicException("bad key"),
            "rpc" => new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unavailable, "coordinator down", new System.Net.Sockets.SocketException(111))),
            _ => new Protocol.PolicyRefusedException("refused"),
        };
        var expectedLine = error is Grpc.Core.RpcException ? "error: Unavailable: coordinator down (Connection refused)" : $"error: {error.Message}";

        var (code, stderr) = await RunAsync(() => throw error);

        Assert.Equal(expected, code);
        Assert.Equal(expectedLine, stderr.Trim());
    }

    private static async Task<(int Code, string Stderr)> RunAsync(Func<Task<int>> action)
    {
        var error = new StringWriter();
        var saved = Console.Error;
        try
        {
            Console.SetError(error);
            return (await CliErrors.RunAsync(action), error.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }
}
