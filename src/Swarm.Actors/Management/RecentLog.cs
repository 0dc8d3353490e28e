using Microsoft.Extensions.Logging;

namespace Swarm.Management;

/// <summary>The node's latest log lines in memory (Akka's log included: it goes through this logger), for <c>swarm log peek</c>.</summary>
public sealed class RecentLog(int capacity = 1000) : ILoggerProvider
{
    private readonly Queue<string> _lines = new(capacity);

    public IReadOnlyList<string> Peek(int count)
    {
        lock (_lines) return _lines.Skip(Math.Max(0, _lines.Count - count)).ToList();
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private void Add(string line)
    {
        lock (_lines)
        {
            if (_lines.Count == capacity) _lines.Dequeue();
            _lines.Enqueue(line);
        }
    }

    private sealed class Logger(RecentLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var level = logLevel switch
            {
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                LogLevel.Critical => "crit",
                _ => logLevel.ToString().ToLowerInvariant(),
            };
            var text = formatter(state, exception);
            if (exception is not null) text += $" ({exception.GetType().Name}: {exception.Message})";
            log.Add($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level} {category}: {text}");
        }
    }
}
