using System.IO.Compression;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Cur.Tests;

public class GeneratedReportTests
{
    [Theory]
    [InlineData(".csv", 1, true)]
    [InlineData(".csv.gz", 500, true)]
    [InlineData(".csv.zip", 500, true)]
    [InlineData(".csv", 7_000, false)]
    [InlineData(".csv.gz", 7_000, true)]
    [InlineData(".csv.zip", 40_000, true)]
    public void GeneratedFile_ReconcilesExactlyWithTheGeneratorsTruth(string extension, int rows, bool wide)
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("report" + extension);
        var truth = ReportFiles.WriteFile(path, new ReportGeneratorOptions { Rows = rows, Seed = rows, WideColumns = wide }, CompressionLevel.Fastest);

        var result = CostAggregator.AggregateFile(CurSource.FromFile(path));

        AssertMatches(truth, result);
        Assert.Equal(truth.Bytes, result.DecompressedBytes);
    }

    [Fact]
    public void WideReport_HasAbout120Columns_AndEveryLineItemType()
    {
        using var buffer = new MemoryStream();
        var truth = CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 5_000 });

        Assert.InRange(truth.Columns, 110, 130);
        string[] types =
        [
            "Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanUpfrontFee", "SavingsPlanRecurringFee",
            "RIFee", "Fee", "Credit", "Refund", "Tax", "Discount", "BundledDiscount", "EdpDiscount", "PrivateRateDiscount",
        ];
        Assert.All(types, t => Assert.True(truth.RowsByLineItemType.GetValueOrDefault(t) > 0, t));
        Assert.NotEqual(truth.Unblended, truth.Amortized);
        Assert.NotEqual(truth.Unblended, truth.NetUnblended);
    }

    [Fact]
    public void Generator_IsDeterministicForASeed()
    {
        static byte[] Generate(int seed)
        {
            using var buffer = new MemoryStream();
            CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 300, Seed = seed });
            return buffer.ToArray();
        }

        Assert.Equal(Generate(5), Generate(5));
        Assert.NotEqual(Generate(5), Generate(6));
    }

    [Fact]
    public void LfLineEndingsAndByteOrderMark_ReconcileToo()
    {
        var options = new ReportGeneratorOptions { Rows = 2_000, LineEnding = "\n", ByteOrderMark = true, Final = true };
        using var buffer = new MemoryStream();
        var truth = CurReportGenerator.Write(buffer, options);
        Assert.Equal(0xEF, buffer.ToArray()[0]);

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("lf.csv", buffer.ToArray()));

        AssertMatches(truth, result);
        Assert.True(result.IsFinal);
    }

    [Fact]
    public void CustomTagKey_IsReadFromItsColumn()
    {
        var options = new ReportGeneratorOptions { Rows = 3_000, TagKey = "user:Team Name/x=y+z@q" };
        using var buffer = new MemoryStream();
        var truth = CurReportGenerator.Write(buffer, options);

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("tags.csv", buffer.ToArray()), new CostAggregationOptions { TagKey = options.TagKey });

        AssertMatches(truth, result);
        Assert.True(result.TagColumnPresent);
        Assert.Contains(result.Daily, d => d.Package == "legacy \"monolith\"");
        Assert.Contains(result.Daily, d => d.Package == "team/data:etl");
    }

    [Fact]
    public void DefaultTagKey_OnAReportTaggedWithAnotherKey_FindsNoColumn_AndEverythingIsUntagged()
    {
        using var buffer = new MemoryStream();
        var truth = CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 1_000, TagKey = "user:other" });

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("other.csv", buffer.ToArray()));

        Assert.False(result.TagColumnPresent);
        Assert.Equal(truth.Unblended, result.Untagged.Unblended);
        Assert.Equal(1m, result.UntaggedShare);
        Assert.All(result.Daily, d => Assert.Equal(PackageNames.Untagged, d.Package));
        Assert.Equal(truth.Unblended, result.Totals.Unblended);
    }

    [Fact]
    public void MissingTagColumn_MeansEverythingUntagged_NotAnError()
    {
        var options = new ReportGeneratorOptions { Rows = 1_500, IncludeTagColumn = false, IncludeResourceIds = false, IncludeNetUnblendedCost = false };
        using var buffer = new MemoryStream();
        var truth = CurReportGenerator.Write(buffer, options);

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("untagged.csv", buffer.ToArray()));

        AssertMatches(truth, result);
        Assert.Equal(result.Rows, result.UntaggedRows);
        Assert.Equal(result.Totals.Unblended, result.Totals.NetUnblended);
        Assert.All(result.DailyResources, r => Assert.Equal("", r.ResourceId));
    }

    [Fact]
    public void ResourceIndex_AttributesUntaggedRowsByArnOrItsLastPart()
    {
        using var buffer = new MemoryStream();
        var truth = CurReportGenerator.Write(buffer, new ReportGeneratorOptions { Rows = 8_000, TaggingApiOnlyFraction = 0.2 });
        Assert.True(truth.TaggingApiAttributableUnblended > 0);
        Assert.Contains(truth.TaggingApiPackagesByArn.Keys, arn => arn.Contains(":instance/", StringComparison.Ordinal));

        var index = new ResourcePackageIndex(truth.TaggingApiPackagesByArn);
        var result = CostAggregator.AggregateFile(CurSource.FromBytes("r.csv", buffer.ToArray()), new CostAggregationOptions { ResourceIndex = index });

        Assert.Equal(truth.TaggingApiAttributableUnblended, result.AttributedByResourceIndex.Unblended);
        Assert.Equal(truth.UntaggedUnblended - truth.TaggingApiAttributableUnblended, result.Untagged.Unblended);
        Assert.Equal(truth.Unblended, result.Totals.Unblended);
        Assert.True(result.RowsAttributedByResourceIndex > 0);
    }

    [Fact]
    public void ResourcePackageIndex_MatchesArnOrLastPart_AndIgnoresAmbiguousLastParts()
    {
        var index = new ResourcePackageIndex(new Dictionary<string, string>
        {
            ["arn:aws:ec2:us-east-1:1:instance/i-0abc"] = "web",
            ["arn:aws:lambda:us-east-1:1:function:fn"] = "api",
            ["arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a/same"] = "one",
            ["arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/b/same"] = "two",
        });

        Assert.True(index.TryGetPackage("i-0abc", out var byPart));
        Assert.Equal("web", byPart);
        Assert.True(index.TryGetPackage("arn:aws:lambda:us-east-1:1:function:fn", out var byArn));
        Assert.Equal("api", byArn);
        Assert.True(index.TryGetPackage("fn", out var lambdaPart));
        Assert.Equal("api", lambdaPart);
        Assert.False(index.TryGetPackage("same", out _));
        Assert.True(index.TryGetPackage("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/b/same", out var exact));
        Assert.Equal("two", exact);
        Assert.False(index.TryGetPackage("i-0zzz", out _));
    }

    [Fact]
    public void MultiFileDelivery_WithManifest_ReconcilesAsOnePeriod()
    {
        using var directory = TestPaths.NewTempDirectory();
        var delivery = ReportDelivery.WriteToDirectory(directory.Path, new ReportDeliveryOptions
        {
            Prefix = "",
            Files = 3,
            Format = ReportFileFormat.Gzip,
            CompressionLevel = CompressionLevel.Fastest,
            Versioning = ReportVersioning.CreateNewReport,
            Report = new ReportGeneratorOptions { Rows = 4_001, BillingPeriodStart = new DateOnly(2024, 2, 1) },
        });

        Assert.Equal("/massdriver-costs/20240201-20240301/massdriver-costs-Manifest.json", delivery.ManifestKey);
        Assert.StartsWith("/massdriver-costs/20240201-20240301/aa1ddccb-", delivery.DataKeys[0], StringComparison.Ordinal);
        Assert.Equal(2, delivery.ManifestKeys.Count);
        Assert.All(delivery.DataKeys, k => Assert.EndsWith(".csv.gz", k, StringComparison.Ordinal));
        var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory.Path, delivery.ManifestKey.TrimStart('/'))));
        Assert.Equal("20240201T000000.000Z", manifest.RootElement.GetProperty("billingPeriod").GetProperty("start").GetString());
        Assert.Equal(3, manifest.RootElement.GetProperty("reportKeys").GetArrayLength());
        Assert.Equal("GZIP", manifest.RootElement.GetProperty("compression").GetString());
        Assert.Contains(manifest.RootElement.GetProperty("columns").EnumerateArray(),
            c => c.GetProperty("category").GetString() == "resourceTags" && c.GetProperty("name").GetString() == "user:md-package");

        var aggregator = new CostAggregator();
        foreach (var key in delivery.DataKeys)
        {
            aggregator.AddFile(CurSource.FromFile(Path.Combine(directory.Path, key.TrimStart('/'))));
        }

        var result = aggregator.GetResult();
        AssertMatches(delivery.Truth, result);
        Assert.Equal(new DateOnly(2024, 2, 1), result.BillingPeriodStart);
        Assert.Equal(3, result.Files.Count);
    }

    internal static void AssertMatches(GeneratedReportTruth truth, CurAggregationResult result)
    {
        Assert.Equal(truth.Rows, result.Rows);
        Assert.Equal(truth.Unblended, result.Totals.Unblended);
        Assert.Equal(truth.Unblended, result.UnblendedRowSum);
        Assert.Equal(truth.NetUnblended, result.Totals.NetUnblended);
        Assert.Equal(truth.Amortized, result.Totals.Amortized);
        Assert.Equal(truth.UntaggedUnblended, result.Untagged.Unblended);
        Assert.Equal(truth.RowsByLineItemType.OrderBy(p => p.Key, StringComparer.Ordinal), result.RowsByLineItemType.OrderBy(p => p.Key, StringComparer.Ordinal));
        var daily = result.Daily.GroupBy(d => (d.UsageDate, d.Package)).ToDictionary(g => g.Key, g => g.Sum(d => d.Cost.Unblended));
        Assert.Equal(truth.DailyPackageUnblended.Count, daily.Count);
        foreach (var (key, cost) in truth.DailyPackageUnblended)
        {
            Assert.Equal(cost, daily[key]);
        }

        Assert.Equal(truth.Final, result.IsFinal);
    }
}
