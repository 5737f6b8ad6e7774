using System.Collections.Concurrent;
using Temporalio.Activities;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace CurWorkflows.Workflows.Tests.Doubles;

/// <summary>
/// Workflow-level test double registered under the real <see cref="CollectionWorkflow"/>'s name: each run asks the
/// test's <see cref="ScriptedCollector"/> what to do, so loop tests control when runs end and how.
/// </summary>
[Workflow(nameof(CollectionWorkflow))]
public sealed class ScriptedCollectionWorkflow
{
    [WorkflowRun]
    public Task<CollectionSummary> RunAsync(CollectionWorkflowInput input) =>
        Workflow.ExecuteActivityAsync(
            (ScriptedCollector collector) => collector.CollectAsync(input),
            new() { StartToCloseTimeout = TimeSpan.FromMinutes(2), RetryPolicy = new() { MaximumAttempts = 1 } });
}

/// <summary>The activities of the loop tests: a collection that waits for the test's go, and the run recorder.</summary>
public sealed class ScriptedCollector
{
    private readonly ConcurrentDictionary<int, TaskCompletionSource<Exception?>> gates = new();
    private int started;

    public ConcurrentQueue<CollectionRunRecord> Records { get; } = new();

    public int RunsStarted => Volatile.Read(ref started);

    /// <summary>When false, runs complete at once instead of waiting for <see cref="Finish"/>.</summary>
    public bool HoldRuns { get; init; } = true;

    [Activity("ScriptedCollect")]
    public async Task<CollectionSummary> CollectAsync(CollectionWorkflowInput input)
    {
        var run = Interlocked.Increment(ref started);
        if (HoldRuns)
        {
            var failure = await Gate(run).Task.WaitAsync(ActivityExecutionContext.Current.CancellationToken);
            if (failure is not null)
            {
                throw failure;
            }
        }

        return new CollectionSummary(PeriodsFound: 1, PeriodsStored: 1, Files: run, Rows: 10 * run, UnblendedTotal: $"{run}.5");
    }

    /// <summary>When set, recording a run waits for it (the integration workflow is then still ending).</summary>
    public TaskCompletionSource? RecordGate { get; init; }

    /// <summary>Completes when a run's record is being written.</summary>
    public TaskCompletionSource RecordReached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Activity(ActivityNames.RecordCollectionRun)]
    public async Task RecordRunAsync(CollectionRunRecord record)
    {
        RecordReached.TrySetResult();
        if (RecordGate is not null)
        {
            await RecordGate.Task.WaitAsync(ActivityExecutionContext.Current.CancellationToken);
        }

        Records.Enqueue(record);
    }

    /// <summary>Lets run number <paramref name="run"/> (1-based) succeed, or fail with <paramref name="failure"/>.</summary>
    public void Finish(int run, Exception? failure = null) => Gate(run).TrySetResult(failure);

    public static ApplicationFailureException Coded(string code) => new($"scripted {code}", errorType: code, nonRetryable: true);

    private TaskCompletionSource<Exception?> Gate(int run) =>
        gates.GetOrAdd(run, _ => new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously));
}
