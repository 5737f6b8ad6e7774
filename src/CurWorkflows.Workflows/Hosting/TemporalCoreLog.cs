using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>
/// Where the Temporal SDK's Rust core logs (connection retries, poll errors): into the host's logging as the category
/// <c>Temporalio.Core</c>, so that log levels, the console format and OTLP export apply to them. Without it the core
/// writes its own coloured lines to standard output, past all of that. The runtime is one per process (see
/// <see cref="TemporalRuntimes"/>), so the target is too: the host started last. Until one starts, nothing is logged.
/// </summary>
internal sealed class TemporalCoreLog : ILogger
{
    public const string Category = "Temporalio.Core";

    public static readonly TemporalCoreLog Instance = new();

    private static volatile ILogger target = NullLogger.Instance;

    public static void Attach(ILoggerFactory loggerFactory) => target = loggerFactory.CreateLogger(Category);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => target.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => target.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        target.Log(logLevel, eventId, state, exception, formatter);
}

/// <summary>Points <see cref="TemporalCoreLog"/> at this host's logging when it starts, before any worker connects.</summary>
internal sealed class TemporalCoreLogAttachment(ILoggerFactory loggerFactory) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        TemporalCoreLog.Attach(loggerFactory);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
