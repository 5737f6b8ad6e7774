using System.IO.Compression;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Cur.Tests;

public class CheckpointResumeTests
{
    private sealed class SimulatedCrashException : Exception;

    [Theory]
    [InlineData(".csv")]
    [InlineData(".csv.gz")]
    [InlineData(".csv.zip")]
    public void ResumingFromAnyCheckpoint_GivesTheUninterruptedResult(string extension)
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("report" + extension);
        var truth = ReportFiles.WriteFile(path, new ReportGeneratorOptions { Rows = 6_000, Seed = 3 }, CompressionLevel.Fastest);
        var source = CurSource.FromFile(path);
        var uninterrupted = CostAggregator.AggregateFile(source);

        var checkpoints = new List<(CurCheckpoint Checkpoint, byte[] State)>();
        var observer = new CostAggregator();
        observer.AddFile(source, new CheckpointOptions
        {
            EveryRows = 1_000,
            OnCheckpoint = (aggregator, checkpoint) =>
            {
                using var state = new MemoryStream();
                aggregator.Save(state);
                checkpoints.Add((checkpoint, state.ToArray()));
            },
        });
        Assert.Equal(5, checkpoints.Count);
        Assert.Equal([1_000L, 2_000, 3_000, 4_000, 5_000], checkpoints.Select(c => c.Checkpoint.Position.Rows));
        Assert.True(checkpoints.Zip(checkpoints.Skip(1)).All(p => p.First.Checkpoint.Position.DecompressedBytes < p.Second.Checkpoint.Position.DecompressedBytes));
        Assert.True(checkpoints[^1].Checkpoint.Position.Line > 5_000);
        Assert.All(checkpoints, c => Assert.True(c.State.Length < 2_000_000));

        foreach (var (checkpoint, state) in checkpoints)
        {
            var resumed = CostAggregator.Load(new MemoryStream(state));
            Assert.Equal((path, checkpoint.Position), resumed.InProgress);
            resumed.AddFile(source);
            AssertSameResult(uninterrupted, resumed.GetResult());
        }

        GeneratedReportTests.AssertMatches(truth, uninterrupted);
    }

    [Fact]
    public void ACrashAfterASave_ThenAnotherCrashAfterTheResume_StillEndsWithTheSameResult()
    {
        using var buffer = new MemoryStream();
        CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 5_000, Seed = 9 });
        var source = CurSource.FromBytes("crash.csv", buffer.ToArray());
        var uninterrupted = CostAggregator.AggregateFile(source);

        byte[]? saved = null;
        void RunUntilCrash(CostAggregator aggregator, int crashAtCheckpoint)
        {
            var seen = 0;
            Assert.Throws<SimulatedCrashException>(() => aggregator.AddFile(source, new CheckpointOptions
            {
                EveryRows = 700,
                OnCheckpoint = (a, _) =>
                {
                    using var state = new MemoryStream();
                    a.Save(state);
                    saved = state.ToArray();
                    if (++seen == crashAtCheckpoint)
                    {
                        throw new SimulatedCrashException();
                    }
                },
            }));
        }

        RunUntilCrash(new CostAggregator(), 2);
        RunUntilCrash(CostAggregator.Load(new MemoryStream(saved!)), 3);
        var final = CostAggregator.Load(new MemoryStream(saved!));
        // Crashed at the 2nd checkpoint (1,400 rows), resumed, crashed at the 3rd after that (2,100, 2,800, 3,500).
        Assert.Equal(3_500, final.InProgress!.Value.Position.Rows);
        final.AddFile(source);

        AssertSameResult(uninterrupted, final.GetResult());
    }

    [Fact]
    public void TimeBasedCheckpoints_AreReported()
    {
        using var buffer = new MemoryStream();
        CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 20_000, WideColumns = false });
        var count = 0;

        new CostAggregator().AddFile(CurSource.FromBytes("t.csv", buffer.ToArray()), new CheckpointOptions
        {
            Interval = TimeSpan.FromTicks(1),
            OnCheckpoint = (_, c) =>
            {
                Assert.Equal(0, c.Position.Rows % 4096);
                count++;
            },
        });

        Assert.Equal(4, count);
    }

    [Fact]
    public void SavedState_OfACompletedFile_SkipsThatFile()
    {
        using var buffer = new MemoryStream();
        CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 300 });
        var source = CurSource.FromBytes("done.csv", buffer.ToArray());
        var aggregator = new CostAggregator();
        aggregator.AddFile(source);
        using var state = new MemoryStream();
        aggregator.Save(state);
        state.Position = 0;

        var loaded = CostAggregator.Load(state);
        loaded.AddFile(source);

        AssertSameResult(aggregator.GetResult(), loaded.GetResult());
        Assert.Equal(300, loaded.Rows);
    }

    [Fact]
    public void SavedState_WithAnotherTagKey_IsRejected()
    {
        using var state = new MemoryStream();
        new CostAggregator().Save(state);
        state.Position = 0;

        Assert.Throws<InvalidDataException>(() => CostAggregator.Load(state, new CostAggregationOptions { TagKey = "user:team" }));
    }

    [Fact]
    public void Cancellation_StopsTheRead()
    {
        using var buffer = new MemoryStream();
        CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 40_000, WideColumns = false });
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => new CostAggregator().AddFile(CurSource.FromBytes("c.csv", buffer.ToArray()), null, cancellation.Token));
    }

    internal static void AssertSameResult(CurAggregationResult expected, CurAggregationResult actual)
    {
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Totals, actual.Totals);
        Assert.Equal(expected.UnblendedRowSum, actual.UnblendedRowSum);
        Assert.Equal(expected.Untagged, actual.Untagged);
        Assert.Equal(expected.UntaggedRows, actual.UntaggedRows);
        Assert.Equal(expected.RowsByLineItemType, actual.RowsByLineItemType);
        Assert.Equal(expected.IsFinal, actual.IsFinal);
        Assert.Equal(expected.BillingPeriodStart, actual.BillingPeriodStart);
        Assert.Equal(expected.DecompressedBytes, actual.DecompressedBytes);
        Assert.Equal(expected.Daily, actual.Daily);
        Assert.Equal(expected.DailyResources, actual.DailyResources);
        Assert.Equal(expected.Monthly, actual.Monthly);
    }
}
