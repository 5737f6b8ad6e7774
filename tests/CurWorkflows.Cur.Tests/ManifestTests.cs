using CurWorkflows.Cur;
using CurWorkflows.Cur.Manifest;

namespace CurWorkflows.Cur.Tests;

public class ManifestTests
{
    private const string MinimalManifest = """
        {"assemblyId":"aa1ddccb-abcd-1234-b849-57a32b6864a9","account":"123456789012",
         "columns":[{"category":"identity","name":"LineItemId","type":"String"},
                    {"category":"lineItem","name":"UnblendedCost","type":"BigDecimal"},
                    {"category":"resourceTags","name":"user:md-package","type":"String"}],
         "charset":"UTF-8","compression":"ZIP","contentType":"text/csv",
         "reportId":"a5e3","reportName":"massdriver-costs",
         "billingPeriod":{"start":"20241101T000000.000Z","end":"20241201T000000.000Z"},
         "bucket":"massdriver-costs-a1b2c3d4",
         "reportKeys":["massdriver-costs/20241101-20241201/massdriver-costs-1.csv.zip"],
         "additionalArtifactKeys":[{"artifactType":"RedshiftCommands","name":"massdriver-costs/20241101-20241201/x-RedshiftCommands.sql"}]}
        """;

    [Fact]
    public async Task Parse_GenuineRudderlabsManifest_Reads275ColumnsAndPeriod()
    {
        var path = Path.Combine(SharedFolder(), "samples", "rudderlabs-ice__manifest-2019-12.json");
        await using var stream = File.OpenRead(path);

        var manifest = await CurManifestParser.ParseAsync(stream, Path.GetFileName(path));

        Assert.Equal(275, manifest.Columns.Count);
        Assert.Equal("11111111-2222-3333-4444-555555555555", manifest.AssemblyId);
        Assert.Equal("123456789012", manifest.Account);
        Assert.Equal("GZIP", manifest.Compression);
        Assert.Equal("ReportName", manifest.ReportName);
        Assert.Equal("ReportBucket", manifest.Bucket);
        Assert.Equal(new DateTime(2019, 12, 1, 0, 0, 0, DateTimeKind.Utc), manifest.BillingPeriod.Start);
        Assert.Equal(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc), manifest.BillingPeriod.End);
        Assert.Equal(DateTimeKind.Utc, manifest.BillingPeriod.Start.Kind);
        Assert.Equal("20191201-20200101", manifest.BillingPeriod.FolderName);
        Assert.Empty(manifest.ReportKeys);
        Assert.Empty(manifest.AdditionalArtifacts);
        Assert.Equal("identity/LineItemId", manifest.Columns[0].HeaderName);
        Assert.Contains(manifest.Columns, c => c.Category == "resourceTags");
        Assert.Contains(manifest.Columns, c => c.Category == "savingsPlan");
        Assert.Contains(manifest.Columns, c => c.Category == "discount");
        Assert.All(manifest.Columns, c => Assert.False(string.IsNullOrEmpty(c.Type)));
    }

    [Fact]
    public void Parse_ArtifactsAreObjects_ReadsThem()
    {
        var manifest = CurManifestParser.Parse(MinimalManifest, "m.json");

        var artifact = Assert.Single(manifest.AdditionalArtifacts);
        Assert.Equal("RedshiftCommands", artifact.ArtifactType);
        Assert.Equal("massdriver-costs/20241101-20241201/x-RedshiftCommands.sql", artifact.Name);
        Assert.Equal(["massdriver-costs/20241101-20241201/massdriver-costs-1.csv.zip"], manifest.ReportKeys);
        Assert.Equal("resourceTags/user:md-package", manifest.Columns[2].HeaderName);
    }

    [Fact]
    public void Parse_ColumnWithoutType_TypeIsNull()
    {
        var json = MinimalManifest.Replace("\"UnblendedCost\",\"type\":\"BigDecimal\"}", "\"UnblendedCost\"}", StringComparison.Ordinal);

        var manifest = CurManifestParser.Parse(json, "old.json");

        Assert.Null(manifest.Columns[1].Type);
        Assert.Equal("lineItem/UnblendedCost", manifest.Columns[1].HeaderName);
    }

    [Fact]
    public void Parse_TimestampAssemblyId_KeptOpaque()
    {
        var json = MinimalManifest.Replace("aa1ddccb-abcd-1234-b849-57a32b6864a9", "20230903T040211Z", StringComparison.Ordinal);

        Assert.Equal("20230903T040211Z", CurManifestParser.Parse(json, "m.json").AssemblyId);
    }

    [Theory]
    [InlineData("{not json", "invalid JSON")]
    [InlineData("[]", "top level")]
    [InlineData("""{"assemblyId":"a","reportName":"r"}""", "billingPeriod")]
    [InlineData("""{"assemblyId":"a","reportName":"r","billingPeriod":{"start":"2024-11-01","end":"20241201T000000.000Z"}}""", "billingPeriod.start")]
    [InlineData("""{"reportName":"r","billingPeriod":{"start":"20241101T000000.000Z","end":"20241201T000000.000Z"}}""", "assemblyId")]
    [InlineData("""{"assemblyId":"a","reportName":"r","billingPeriod":{"start":"20241201T000000.000Z","end":"20241101T000000.000Z"}}""", "not after")]
    [InlineData("""{"assemblyId":"a","reportName":"r","billingPeriod":{"start":"20241101T000000.000Z","end":"20241201T000000.000Z"},"columns":[{"name":"x"}]}""", "columns[0].category")]
    [InlineData("""{"assemblyId":"a","reportName":"r","billingPeriod":{"start":"20241101T000000.000Z","end":"20241201T000000.000Z"},"reportKeys":[1]}""", "reportKeys[0]")]
    [InlineData("""{"assemblyId":"a","reportName":"r","billingPeriod":{"start":"20241101T000000.000Z","end":"20241201T000000.000Z"},"reportKeys":["r/a-1.csv.zip","r/a-2.csv.zip","r/a-1.csv.zip"]}""", "reportKeys[2] repeats reportKeys[0] ('r/a-1.csv.zip')")]
    public void Parse_MalformedManifest_ThrowsReportMalformedNamingTheFile(string json, string expectedDetail)
    {
        var ex = Assert.Throws<CurException>(() => CurManifestParser.Parse(json, "bucket/key/r-Manifest.json"));

        Assert.Equal(CurErrorCodes.ReportMalformed, ex.Code);
        Assert.StartsWith("bucket/key/r-Manifest.json:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expectedDetail, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ParseAsync_TruncatedStream_ThrowsReportMalformed()
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(MinimalManifest[..200]));

        var ex = await Assert.ThrowsAsync<CurException>(() => CurManifestParser.ParseAsync(stream, "cut.json"));

        Assert.Equal(CurErrorCodes.ReportMalformed, ex.Code);
        Assert.Contains("cut.json", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("20241101-20241201", true)]
    [InlineData("20241201-20250101", true)]
    [InlineData("2024110-20241201", false)]
    [InlineData("20241301-20241201", false)]
    [InlineData("20241201-20241101", false)]
    [InlineData("aa1ddccb-abcd-1234-b849-57a32b6864a9", false)]
    public void TryParseFolderName_Formats_AcceptsOnlyPeriods(string folder, bool expected)
    {
        Assert.Equal(expected, CurBillingPeriod.TryParseFolderName(folder, out var period));
        if (expected)
        {
            Assert.Equal(folder, period.FolderName);
        }
    }

    internal static string SharedFolder()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CurWorkflows.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        return Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared"));
    }
}
