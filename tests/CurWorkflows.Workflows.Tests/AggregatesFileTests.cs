using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;
using CurWorkflows.Workflows.Activities;

namespace CurWorkflows.Workflows.Tests;

public sealed class AggregatesFileTests : IDisposable
{
    private const string ThisBoot = "this-boot";
    private readonly string directory = Directory.CreateTempSubdirectory("aggregates-file-").FullName;
    private readonly CostAggregator aggregator = Aggregate();

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void Aggregates_saved_in_this_boot_load_with_every_total_and_row()
    {
        var path = Path.Combine(directory, "a.aggregates");
        AggregatesFile.Save(aggregator, path, ThisBoot);

        var loaded = AggregatesFile.TryLoad(path, new CostAggregationOptions(), ThisBoot, out var reason);

        Assert.NotNull(loaded);
        Assert.Equal("", reason);
        AssertSameResult(aggregator, loaded);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Unflushed_aggregates_from_another_boot_are_not_trusted()
    {
        var path = Path.Combine(directory, "a.aggregates");
        AggregatesFile.Save(aggregator, path, "an-earlier-boot");

        Assert.Null(AggregatesFile.TryLoad(path, new CostAggregationOptions(), ThisBoot, out var reason));
        Assert.Contains("before the host restarted", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Aggregates_flushed_where_the_host_has_no_boot_id_are_trusted_in_any_boot()
    {
        var path = Path.Combine(directory, "a.aggregates");
        AggregatesFile.Save(aggregator, path, bootId: null);

        Assert.StartsWith("curworkflows-aggregates - flushed\n", File.ReadAllText(path)[..40], StringComparison.Ordinal);
        AssertSameResult(aggregator, AggregatesFile.TryLoad(path, new CostAggregationOptions(), ThisBoot, out _));
    }

    [Fact]
    public void Missing_zeroed_and_headerless_files_are_not_trusted()
    {
        var path = Path.Combine(directory, "a.aggregates");
        Assert.Null(AggregatesFile.TryLoad(path, new CostAggregationOptions(), ThisBoot, out var reason));
        Assert.Equal("they are gone", reason);

        // Pages the host lost read as zeros; an older build wrote the aggregator's state without the header.
        File.WriteAllBytes(path, new byte[8192]);
        Assert.Null(AggregatesFile.TryLoad(path, new CostAggregationOptions(), ThisBoot, out reason));
        Assert.Contains("header", reason, StringComparison.Ordinal);
        using (var stream = File.Create(path))
        {
            aggregator.Save(stream);
        }

        Assert.Null(AggregatesFile.TryLoad(path, new CostAggregationOptions(), ThisBoot, out reason));
        Assert.Contains("header", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Aggregates_of_this_boot_damaged_since_are_not_trusted()
    {
        var path = Path.Combine(directory, "a.aggregates");
        AggregatesFile.Save(aggregator, path, ThisBoot);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(file.Length / 2);
        }

        Assert.Null(AggregatesFile.TryLoad(path, new CostAggregationOptions(), ThisBoot, out var reason));
        Assert.Contains("cannot be read", reason, StringComparison.Ordinal);
    }

    private static CostAggregator Aggregate()
    {
        using var buffer = new MemoryStream();
        CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 3_000, Seed = 17 });
        var aggregator = new CostAggregator();
        aggregator.AddFile(CurSource.FromBytes("r.csv", buffer.ToArray()));
        return aggregator;
    }

    private static void AssertSameResult(CostAggregator expected, CostAggregator? actual)
    {
        Assert.NotNull(actual);
        var (a, b) = (expected.GetResult(), actual.GetResult());
        Assert.Equal(a.Rows, b.Rows);
        Assert.Equal(a.Totals, b.Totals);
        Assert.Equal(a.DailyResources, b.DailyResources);
        Assert.Equal(a.Daily, b.Daily);
        Assert.Equal(a.Monthly, b.Monthly);
    }
}
