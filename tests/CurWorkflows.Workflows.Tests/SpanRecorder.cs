using System.Collections.Concurrent;
using System.Diagnostics;
using CurWorkflows.Workflows.Hosting;

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

    /// <summary>The activity attempts of one workflow: other tests' runs are in the same process.</summary>
    public IReadOnlyList<Activity> AttemptsOf(string? workflowId) =>
        [.. spans.Where(s => s.Source.Name == ActivityTracingInterceptor.SourceName && (string?)s.GetTagItem("temporalWorkflowID") == workflowId)];

    public void Dispose() => listener.Dispose();
}
