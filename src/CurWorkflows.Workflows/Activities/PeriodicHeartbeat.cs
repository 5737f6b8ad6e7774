using Temporalio.Activities;

namespace CurWorkflows.Workflows.Activities;

/// <summary>
/// Heartbeats an activity at once and then every five seconds until disposed, each time with the latest
/// <see cref="Details"/>: long waits and long work inside an attempt stay within its heartbeat timeout.
/// </summary>
internal sealed class PeriodicHeartbeat<T> : IDisposable
    where T : class
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private readonly ActivityExecutionContext _context;
    private readonly Timer _timer;
    private T _details;

    public PeriodicHeartbeat(ActivityExecutionContext context, T details)
    {
        _context = context;
        _details = details;
        _timer = new Timer(_ => Beat(), null, TimeSpan.Zero, Interval);
    }

    /// <summary>What the next heartbeat carries (a retried attempt reads the last one sent).</summary>
    public T Details
    {
        get => Volatile.Read(ref _details);
        set => Volatile.Write(ref _details, value);
    }

    /// <summary>Heartbeats now, with the latest details.</summary>
    public void Beat() => _context.Heartbeat(Details);

    public void Dispose() => _timer.Dispose();
}
