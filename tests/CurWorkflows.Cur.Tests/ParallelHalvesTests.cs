using System.Text;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Cur.Tests;

[CollectionDefinition(nameof(ParallelHalvesTests), DisableParallelization = true)]
public class ParallelHalvesCollection;

/// <summary>Plain CSV files read as two halves on two threads give exactly the sequential result.</summary>
[Collection(nameof(ParallelHalvesTests))]
public sealed class ParallelHalvesTests : IDisposable
{
    private readonly long _minimum = CostAggregator.ParallelMinimumBytes;

    public ParallelHalvesTests() => CostAggregator.ParallelMinimumBytes = 0;

    public void Dispose()
    {
        CostAggregator.ParallelMinimumBytes = _minimum;
        CostAggregator.ParallelSplitOverride = null;
    }

    private static CurAggregationResult Sequential(string path)
    {
        var minimum = CostAggregator.ParallelMinimumBytes;
        CostAggregator.ParallelMinimumBytes = long.MaxValue;
        try
        {
            return CostAggregator.AggregateFile(CurSource.FromFile(path));
        }
        finally
        {
            CostAggregator.ParallelMinimumBytes = minimum;
        }
    }

    [Fact]
    public void TwoHalves_GiveTheSequentialResult()
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("halves.csv");
        var truth = ReportFiles.WriteFile(path, new ReportGeneratorOptions { Rows = 12_000, Seed = 12 });

        var parallel = CostAggregator.AggregateFile(CurSource.FromFile(path));

        GeneratedReportTests.AssertMatches(truth, parallel);
        CheckpointResumeTests.AssertSameResult(Sequential(path), parallel);
        Assert.Equal(new FileInfo(path).Length, parallel.DecompressedBytes);
    }

    [Fact]
    public void ASplitInsideAQuotedLineBreak_FallsBackToOneSequentialPass()
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("quoted.csv");
        var truth = ReportFiles.WriteFile(path, new ReportGeneratorOptions { Rows = 3_000, Seed = 2 });
        var bytes = File.ReadAllBytes(path);
        var inside = bytes.AsSpan(bytes.Length / 2).IndexOf("Single-AZ\ninstance"u8) + (bytes.Length / 2);
        Assert.True(inside > bytes.Length / 2);
        CostAggregator.ParallelSplitOverride = inside;

        var result = CostAggregator.AggregateFile(CurSource.FromFile(path));

        GeneratedReportTests.AssertMatches(truth, result);
        CheckpointResumeTests.AssertSameResult(Sequential(path), result);
    }

    [Fact]
    public void AnErrorInTheSecondHalf_NamesItsLineInTheWholeFile()
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("bad-second.csv");
        var csv = new StringBuilder("lineItem/LineItemDescription,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n");
        for (var row = 1; row <= 2_000; row++)
        {
            // Every 10th row spans two lines, so that lines and rows differ.
            var description = row % 10 == 0 ? "\"two\nlines\"" : "one";
            csv.Append(description).Append(",Usage,2024-11-01T00:00:00Z,").Append(row == 1_500 ? "oops" : "1.5").Append('\n');
        }

        File.WriteAllText(path, csv.ToString());

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(CurSource.FromFile(path)));

        // Row 1,500 starts at line 1 (header) + 1,499 rows + 149 extra lines of the two-line rows before it + 1.
        Assert.Equal(1 + 1_499 + 149 + 1, error.Line);
        Assert.Equal(4, error.Column);
        var sequential = Assert.Throws<ReportMalformedException>(() => Sequential(path));
        Assert.Equal(sequential.Line, error.Line);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void TwoBillingPeriodsMeetingAtTheSplit_AreReportedWhereOnePassReportsThem(int emptyPeriodCellsAfterSplit)
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("two-periods.csv");
        var csv = new StringBuilder("lineItem/LineItemType,bill/BillingPeriodStartDate,lineItem/UsageStartDate,lineItem/UnblendedCost\n");
        for (var row = 1; row <= 2_000; row++)
        {
            var period = row <= 1_000 ? "2024-11-01T00:00:00Z" : row <= 1_000 + emptyPeriodCellsAfterSplit ? "" : "2024-12-01T00:00:00Z";
            csv.Append("Usage,").Append(period).Append(",2024-11-02T00:00:00Z,1\n");
        }

        File.WriteAllText(path, csv.ToString());
        var text = File.ReadAllText(path);
        var lineOfRow1001 = 0;
        for (int i = 0, newlines = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' && ++newlines == 1_001)
            {
                lineOfRow1001 = i + 1;
                break;
            }
        }

        CostAggregator.ParallelSplitOverride = lineOfRow1001 - 1;

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(CurSource.FromFile(path)));

        var sequential = Assert.Throws<ReportMalformedException>(() => Sequential(path));
        Assert.Equal(1 + 1_000 + emptyPeriodCellsAfterSplit + 1, sequential.Line);
        Assert.Equal((sequential.Line, sequential.Column, sequential.ColumnName), (error.Line, error.Column, error.ColumnName));
        Assert.Equal(2, error.Column);
    }

    [Fact]
    public void AnErrorInTheFirstHalf_WinsOverOneInTheSecond()
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("bad-both.csv");
        var csv = new StringBuilder("lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n");
        for (var row = 1; row <= 1_000; row++)
        {
            csv.Append("Usage,").Append(row == 100 ? "never" : "2024-11-01T00:00:00Z").Append(',').Append(row == 900 ? "x" : "2").Append('\n');
        }

        File.WriteAllText(path, csv.ToString());

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(CurSource.FromFile(path)));

        Assert.Equal(101, error.Line);
        Assert.Equal(2, error.Column);
    }
}
