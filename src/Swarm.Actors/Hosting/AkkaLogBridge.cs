using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Swarm.Hosting;

/// <summary>
/// Akka's log into Microsoft.Extensions.Logging as one plain event each: the message and where it came from, under
/// the logging class as category. The logging pipeline adds the one timestamp and level (Akka.Hosting's own bridge
/// passed Akka's formatted line, its timestamp, level and thread included, so each line carried both twice).
/// </summary>
public sealed class AkkaLogBridge : ActorBase, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly ILoggerFactory _factory;
    private readonly Dictionary<Type, ILogger> _loggers = new();
    private readonly string _systemSuffix = $" (akka://{Context.System.Name})";

    public AkkaLogBridge()
    {
        var setup = Context.System.Settings.Setup.Get<LoggerFactorySetup>();
        _factory = setup.HasValue ? setup.Value.LoggerFactory : NullLoggerFactory.Instance;
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                return true;
            case LogEvent e:
                Log(e);
                return true;
            default:
                return false;
        }
    }

    private void Log(LogEvent e)
    {
        if (!_loggers.TryGetValue(e.LogClass, out var logger))
        {
            // Akka's parts that log under a plain name ("remoting", "Cluster") all share one placeholder class.
            var category = e.LogClass == typeof(DummyClassForStringSources) ? "Akka" : e.LogClass.FullName ?? e.LogClass.Name;
            _loggers[e.LogClass] = logger = _factory.CreateLogger(category);
        }
        var level = Level(e.LogLevel());
        if (!logger.IsEnabled(level)) return;
        string text;
        try { text = e.Message?.ToString() ?? ""; }
        catch (FormatException x) { text = $"(unformattable log message: {x.Message})"; }
        logger.Log(level, e.Cause, "{Source}: {Message}", Source(e.LogSource), text);
    }

    /// <summary>An actor path without the node's address (every line of this process shares it), or the source's name.</summary>
    private string Source(string source) =>
        ActorPath.TryParse(source, out var path) ? path.ToStringWithoutAddress()
        : source.EndsWith(_systemSuffix, StringComparison.Ordinal) ? source[..^_systemSuffix.Length] : source;

    private static LogLevel Level(Akka.Event.LogLevel level) => level switch
    {
        Akka.Event.LogLevel.DebugLevel => LogLevel.Debug,
        Akka.Event.LogLevel.InfoLevel => LogLevel.Information,
        Akka.Event.LogLevel.WarningLevel => LogLevel.Warning,
        _ => LogLevel.Error,
    };
}
