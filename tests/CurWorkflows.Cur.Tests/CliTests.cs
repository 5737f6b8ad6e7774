using System.Globalization;
using System.Text.Json;
using CurWorkflows.Cur.Cli;

namespace CurWorkflows.Cur.Tests;

public class CliTests
{
    private static (int ExitCode, string Stdout, string Stderr) Cur(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = CurCommand.Run(args, stdout, stderr);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Aggregate_Json_HasTheStableShape_WithDecimalsAsStrings()
    {
        var (exitCode, stdout, _) = Cur("aggregate", TestPaths.Sample("logzio__test-billing-report-1.csv.zip"), "--format", "json");

        Assert.Equal(0, exitCode);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(19412, root.GetProperty("rows").GetInt64());
        Assert.Equal("218.1678632876", root.GetProperty("totals").GetProperty("unblended").GetString());
        Assert.Equal(JsonValueKind.String, root.GetProperty("totals").GetProperty("amortized").ValueKind);
        var daily = root.GetProperty("daily").EnumerateArray().ToList();
        Assert.NotEmpty(daily);
        Assert.All(daily, d =>
        {
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", d.GetProperty("date").GetString());
            Assert.Equal("", d.GetProperty("package").GetString());
            Assert.Equal(JsonValueKind.String, d.GetProperty("unblended").ValueKind);
        });
        Assert.Equal(218.1678632876m, daily.Sum(d => decimal.Parse(d.GetProperty("unblended").GetString()!, CultureInfo.InvariantCulture)));
        Assert.Equal(19412, root.GetProperty("rowsByLineItemType").GetProperty("Usage").GetInt64());
    }

    [Fact]
    public void Generate_ThenAggregate_PrintsTheGeneratedTotals_WithTagKeyOption()
    {
        using var directory = TestPaths.NewTempDirectory();
        var file = directory.File("r.csv.gz");
        var generated = Cur("generate", file, "--rows", "1500", "--seed", "4", "--tag-key", "user:team", "--fast");
        Assert.Equal(0, generated.ExitCode);
        var expected = generated.Stdout.Split("unblended ")[1].Split(',')[0];

        var (exitCode, stdout, _) = Cur("aggregate", file, "--format", "json", "--tag-key", "user:team");

        Assert.Equal(0, exitCode);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(1500, json.RootElement.GetProperty("rows").GetInt64());
        Assert.Equal(expected, json.RootElement.GetProperty("totals").GetProperty("unblended").GetString());
        Assert.Contains(json.RootElement.GetProperty("daily").EnumerateArray(), d => d.GetProperty("package").GetString() == "team/data:etl");
        Assert.Contains(json.RootElement.GetProperty("daily").EnumerateArray(), d => d.GetProperty("package").GetString() == "");
    }

    [Fact]
    public void Aggregate_Table_ShowsTotalsTypesAndUntaggedShare()
    {
        var (exitCode, stdout, _) = Cur("aggregate", TestPaths.Sample("focus_converters__sample-anonymous-aws-export-dataset.csv"));

        Assert.Equal(0, exitCode);
        Assert.Contains("rows: 1281", stdout, StringComparison.Ordinal);
        Assert.Contains("unblended 1.68230869740", stdout, StringComparison.Ordinal);
        Assert.Matches(@"Tax\s+12", stdout);
        Assert.Contains("untagged: 1281 rows", stdout, StringComparison.Ordinal);
        Assert.Contains("2023-11-14  (untagged)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Aggregate_BadInput_ExitsNonZero_WithTheErrorCodeAndLocation()
    {
        using var directory = TestPaths.NewTempDirectory();
        var file = directory.File("bad.csv");
        File.WriteAllText(file, "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\nUsage,2024-11-01T00:00:00Z,ten\n");

        var (exitCode, stdout, stderr) = Cur("aggregate", file, "--format", "json");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("report_malformed", stderr, StringComparison.Ordinal);
        Assert.Contains("line 2, column 3 (lineItem/UnblendedCost)", stderr, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("report_malformed", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public void MissingFileAndBadUsage_ExitNonZero()
    {
        Assert.Equal(CurCommand.Failed, Cur("aggregate", "/nonexistent/x.csv").ExitCode);
        Assert.Equal(CurCommand.Usage, Cur("aggregate").ExitCode);
        Assert.Equal(CurCommand.Usage, Cur("aggregate", "x.csv", "--format", "xml").ExitCode);
        Assert.Equal(CurCommand.Usage, Cur("frobnicate").ExitCode);
        Assert.Equal(CurCommand.Usage, Cur("generate", "/tmp/x", "--rows", "many").ExitCode);
    }
}
