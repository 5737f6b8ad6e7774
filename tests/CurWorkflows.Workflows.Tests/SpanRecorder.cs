using System.Collections.Concurrent;
using System.Diagnostics;

namespace CurWorkflows.Workflows.Tests;

/// <summary>Records every span of the named activity sources that ends while it is alive, in this whole process.</summary>
public sealed class SpanRecorder : IDisposable
{
    private readonly ConcurrentQueue<Activity> spans = new();
    private readonly ActivityListener listener;

    public SpanRecorder(params string[] sources)
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => sources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
    }

    public IReadOnlyCollection<Activity> Spans => spans;

    public void Dispose() => listener.Dispose();
}
