using CurWorkflows.Cur;
using CurWorkflows.Cur.Manifest;

namespace CurWorkflows.Aws.Tests;

public class EnableValidationTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    private const string Bucket = "massdriver-costs-val00001";
    private const string EmptyBucket = "massdriver-costs-empty001";

    private async Task<IntegrationValidator> SeededValidatorAsync()
    {
        aws.Server.CreateBucket(Bucket);
        aws.Server.CreateBucket(EmptyBucket);
        aws.Server.Objects.PutObject(Bucket, CurReportLayout.ProgrammaticAccessTestObject, "test"u8.ToArray());
        var period = new CurBillingPeriod(new DateTime(2024, 11, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2024, 12, 1, 0, 0, 0, DateTimeKind.Utc));
        var key = CurReportLayout.ManifestKey("massdriver", "massdriver-costs", period);
        aws.Server.Objects.PutObject(Bucket, key, System.Text.Encoding.UTF8.GetBytes(
            Manifests.Json("massdriver-costs", Bucket, period.Start, "a1", ["massdriver/massdriver-costs/20241101-20241201/massdriver-costs-1.csv.zip"])));
        await Task.CompletedTask;
        var factory = aws.CreateFactory();
        return new IntegrationValidator(factory, new CurBucketReader(factory));
    }

    [Fact]
    public async Task ValidateAsync_RightRoleAndExternalId_SucceedsWithBillingPeriods()
    {
        var validator = await SeededValidatorAsync();

        var result = await validator.ValidateAsync(LocalAwsFixture.Role("ok"), new ReportLocation(Bucket, "massdriver"));

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal("20241101-20241201", Assert.Single(result.BillingPeriods).FolderName);
        Assert.True(aws.Server.Counters.Requests("AssumeRole") >= 1);
    }

    [Fact]
    public async Task ValidateAsync_WrongExternalId_AccessDenied()
    {
        var validator = await SeededValidatorAsync();

        var result = await validator.ValidateAsync(LocalAwsFixture.Role("wrong-ext", externalId: "not-the-external-id"), new ReportLocation(Bucket, "massdriver"));

        Assert.Equal(CurErrorCodes.AccessDenied, result.ErrorCode);
        Assert.False(result.CanEnable);
        Assert.DoesNotContain("not-the-external-id", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_UnknownRole_AccessDenied()
    {
        var validator = await SeededValidatorAsync();

        var result = await validator.ValidateAsync(
            LocalAwsFixture.Role("other-role", roleArn: "arn:aws:iam::123456789012:role/someone-else"), new ReportLocation(Bucket, "massdriver"));

        Assert.Equal(CurErrorCodes.AccessDenied, result.ErrorCode);
    }

    [Fact]
    public async Task ValidateAsync_MissingBucket_BucketNotFound()
    {
        var validator = await SeededValidatorAsync();

        var result = await validator.ValidateAsync(LocalAwsFixture.Role("missing"), new ReportLocation("massdriver-costs-doesnotexist", "massdriver"));

        Assert.Equal(CurErrorCodes.BucketNotFound, result.ErrorCode);
        Assert.True(aws.Server.Counters.Errors("NoSuchBucket") >= 1);
    }

    [Fact]
    public async Task ValidateAsync_BucketOutsideThePolicy_BucketNotFound()
    {
        aws.Server.CreateBucket("someone-elses-bucket");
        var validator = await SeededValidatorAsync();

        var result = await validator.ValidateAsync(LocalAwsFixture.Role("outside"), new ReportLocation("someone-elses-bucket", "massdriver"));

        Assert.Equal(CurErrorCodes.BucketNotFound, result.ErrorCode);
        Assert.True(aws.Server.Counters.Errors("AccessDenied") >= 1);
    }

    [Fact]
    public async Task ValidateAsync_EmptyBucket_ReportNotFoundWarning()
    {
        var validator = await SeededValidatorAsync();

        var result = await validator.ValidateAsync(LocalAwsFixture.Role("empty"), new ReportLocation(EmptyBucket, "massdriver"));

        Assert.Equal(CurErrorCodes.ReportNotFound, result.ErrorCode);
        Assert.True(result.IsWarning);
        Assert.True(result.CanEnable);
    }

    [Fact]
    public async Task ValidateAsync_WrongPrefix_ReportNotFound()
    {
        var validator = await SeededValidatorAsync();

        var result = await validator.ValidateAsync(LocalAwsFixture.Role("prefix"), new ReportLocation(Bucket, "other-prefix"));

        Assert.Equal(CurErrorCodes.ReportNotFound, result.ErrorCode);
    }
}
