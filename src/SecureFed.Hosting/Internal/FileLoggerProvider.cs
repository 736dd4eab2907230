using System.Globalization;
using Microsoft.Extensions.Logging;
using SecureFed.Identity;

namespace SecureFed.Hosting.Internal;

/// <summary>
/// Appends log lines to one file (flushed per line, so a crash loses nothing already logged). The
/// components log through [LoggerMessage] events that never carry vectors, keys or data. Each entry is one line:
/// a message may quote a peer, so control characters are replaced and the text is cut to
/// <see cref="MaxMessageLength"/> (<see cref="PeerText"/>), and nobody can forge or flood lines through it.
/// Thread-safe.
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    /// <summary>The longest message (and exception text) one log line carries.</summary>
    public const int MaxMessageLength = 2000;

    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();
    private readonly LogLevel _minimum;

    public FileLoggerProvider(string path, LogLevel minimum)
    {
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        _minimum = minimum;
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
        }
    }

    private void Write(string line)
    {
        lock (_gate)
        {
            try
            {
                _writer.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // late log after shutdown: dropped
            }
        }
    }

    private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var time = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
            var line = $"{time} {logLevel,-11} {category}[{eventId.Id}] {PeerText.Bound(formatter(state, exception), MaxMessageLength)}";
            if (exception is not null)
            {
                line += $" | {exception.GetType().Name}: {PeerText.Bound(exception.Message, MaxMessageLength)}";
            }

            owner.Write(line);
        }
    }
}
