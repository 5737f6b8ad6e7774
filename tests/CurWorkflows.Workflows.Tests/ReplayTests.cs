using CurWorkflows.Cur;
using CurWorkflows.Workflows.Tests.Doubles;
using Temporalio.Client;
using Temporalio.Common;
using Temporalio.Worker;

namespace CurWorkflows.Workflows.Tests;

/// <summary>
/// Recorded histories (tests/CurWorkflows.Workflows.Tests/Histories/*.json) replay against the current workflow code, so a
/// non-deterministic change fails the build. Set CURWORKFLOWS_RECORD_HISTORIES=1 to (re)record the integration loop's ones.
/// </summary>
[Collection(TemporalCollection.Name)]
public sealed class ReplayTests(TemporalFixture temporal)
{
    private static string HistoryDirectory => Path.Combine(AppContext.BaseDirectory, "Histories");

    public static TheoryData<string> RecordedHistories() => new(HistoryFiles());

    private static IEnumerable<string> HistoryFiles() =>
        Directory.EnumerateFiles(HistoryDirectory, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    [Fact]
    public void The_recorded_histories_cover_both_workflows()
    {
        var names = HistoryFiles().ToList();
        Assert.Contains(names, n => n.StartsWith(nameof(IntegrationWorkflow), StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith(nameof(CollectionWorkflow), StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(RecordedHistories))]
    public async Task Recorded_history_replays_against_the_current_workflow_code(string fileName)
    {
        var json = await File.ReadAllTextAsync(Path.Combine(HistoryDirectory, fileName));
        var history = WorkflowHistory.FromJson(Path.GetFileNameWithoutExtension(fileName), json);
        var result = await NewReplayer().ReplayWorkflowAsync(history, throwOnReplayFailure: false);
        Assert.Null(result.ReplayFailure);
    }

    [Fact]
    public async Task Integration_loop_histories_of_this_run_replay_and_are_recorded_on_request()
    {
        var collector = new ScriptedCollector();
        var taskQueue = TemporalFixture.NewTaskQueue();
        using var worker = new TemporalWorker(
            temporal.Client,
            new TemporalWorkerOptions(taskQueue)
                .AddWorkflow<IntegrationWorkflow>()
                .AddWorkflow<ScriptedCollectionWorkflow>()
                .AddAllActivities(collector));
        var histories = await worker.ExecuteAsync(async () =>
        {
            var integrationId = "replay-" + Guid.NewGuid().ToString("N")[..8];
            var input = new IntegrationWorkflowInput(integrationId, "org-r", new CollectionSchedule(TimeSpan.FromHours(1), "0 6 * * *"));
            var handle = await temporal.Client.StartWorkflowAsync(
                (IntegrationWorkflow wf) => wf.RunAsync(input),
                new(IntegrationWorkflow.WorkflowIdFor(integrationId), taskQueue)
                {
                    TypedSearchAttributes = CurSearchAttributes.For(integrationId, "org-r"),
                });
            var firstRunId = handle.ResultRunId!;

            // Execution 1: a run that fails, with a refresh arriving during it, then continue-as-new.
            await Eventually.TrueAsync(() => collector.RunsStarted == 1, "the first run started");
            await handle.SignalAsync(wf => wf.RefreshAsync());
            collector.Finish(1, ScriptedCollector.Coded(CurErrorCodes.ReportMalformed));
            // Execution 2: the pending refresh runs at once and succeeds; execution 3 waits for the cron time.
            await Eventually.TrueAsync(() => collector.RunsStarted == 2, "the refreshed run started");
            collector.Finish(2);
            await Eventually.TrueAsync(() => collector.Records.Count == 2, "both runs recorded");
            await Eventually.TrueAsync(
                async () => (await handle.QueryAsync(wf => wf.GetStatus())).State == IntegrationState.Idle, "idle");
            // ... and is disabled.
            await handle.SignalAsync(wf => wf.DisableAsync());
            await handle.GetResultAsync();

            return new Dictionary<string, WorkflowHistory>
            {
                ["IntegrationWorkflow-failed-run-with-refresh"] = await temporal.Client.GetWorkflowHandle(handle.Id, firstRunId).FetchHistoryAsync(),
                ["IntegrationWorkflow-disabled-while-idle"] = await temporal.Client.GetWorkflowHandle(handle.Id).FetchHistoryAsync(),
            };
        });

        foreach (var (name, history) in histories)
        {
            await ReplayAndMaybeRecordAsync(history, name);
        }
    }

    /// <summary>Replays a fresh history; with CURWORKFLOWS_RECORD_HISTORIES=1 also stores it under Histories/.</summary>
    internal static async Task ReplayAndMaybeRecordAsync(WorkflowHistory history, string name)
    {
        var result = await NewReplayer().ReplayWorkflowAsync(history, throwOnReplayFailure: false);
        Assert.Null(result.ReplayFailure);
        if (Environment.GetEnvironmentVariable("CURWORKFLOWS_RECORD_HISTORIES") == "1")
        {
            var target = Path.Combine(TestPaths.RepositoryRoot(), "tests", "CurWorkflows.Workflows.Tests", "Histories", name + ".json");
            await File.WriteAllTextAsync(target, history.ToJson());
        }
    }

    private static WorkflowReplayer NewReplayer() =>
        new(new WorkflowReplayerOptions().AddWorkflow<IntegrationWorkflow>().AddWorkflow<CollectionWorkflow>());
}
