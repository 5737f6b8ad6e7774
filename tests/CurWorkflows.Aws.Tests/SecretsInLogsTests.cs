using Amazon;
using CurWorkflows.Cur;
using CurWorkflows.Cur.Manifest;
using CurWorkflows.LocalAws;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Aws.Tests;

public class SecretsInLogsTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    private const string Bucket = "massdriver-costs-log00001";

    [Fact]
    public async Task EveryAdapterPath_WithSdkTraceLoggingOn_LogsNoSecretKeySessionTokenOrExternalId()
    {
        var previousLogTo = AWSConfigs.LoggingConfig.LogTo;
        var previousMetrics = AWSConfigs.LoggingConfig.LogMetrics;
        var listener = new SdkTraceRecorder(aws.Logs) { Name = "curworkflows-test-recorder" };
        AWSConfigs.LoggingConfig.LogTo = LoggingOptions.SystemDiagnostics;
        AWSConfigs.LoggingConfig.LogResponses = ResponseLoggingOption.OnError;
        AWSConfigs.LoggingConfig.LogMetrics = true;
        AWSConfigs.AddTraceListener("Amazon", listener);
        try
        {
            aws.Server.CreateBucket(Bucket);
            var period = new CurBillingPeriod(new DateTime(2024, 11, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2024, 12, 1, 0, 0, 0, DateTimeKind.Utc));
            const string dataKey = "massdriver/massdriver-costs/20241101-20241201/massdriver-costs-1.csv.zip";
            aws.Server.Objects.PutObject(Bucket, CurReportLayout.ManifestKey("massdriver", "massdriver-costs", period),
                System.Text.Encoding.UTF8.GetBytes(Manifests.Json("massdriver-costs", Bucket, period.Start, "a1", [dataKey])));
            aws.Server.Objects.PutObject(Bucket, dataKey, System.Security.Cryptography.RandomNumberGenerator.GetBytes(2 * 1024 * 1024));
            aws.Server.AddTaggedResource("arn:aws:ec2:us-east-1:123456789012:instance/i-1", new Dictionary<string, string> { ["md-package"] = "api" });
            aws.Server.Faults.Add(new InjectedFault(FaultKind.SlowDown, LocalAwsOperations.ListObjectsV2));

            // The adapter as the host wires it: configuration section "Aws", options validated, DI.
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Aws:StsServiceUrl"] = aws.Server.Url.ToString(),
                ["Aws:S3ServiceUrl"] = aws.Server.Url.ToString(),
                ["Aws:TaggingServiceUrl"] = aws.Server.Url.ToString(),
                ["Aws:S3ForcePathStyle"] = "true",
            }).Build();
            var services = new ServiceCollection();
            services.AddSingleton(aws.LoggerFactory);
            services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
            services.AddSingleton(new AwsPlatformCredentials(new Amazon.Runtime.BasicAWSCredentials(LocalAwsFixture.PlatformAccessKeyId, LocalAwsFixture.PlatformSecret)));
            services.AddCurAws(configuration);
            await using var provider = services.BuildServiceProvider();
            var role = LocalAwsFixture.Role("logs");
            var location = new ReportLocation(Bucket, "massdriver");

            var validation = await provider.GetRequiredService<IntegrationValidator>().ValidateAsync(role, location);
            var refused = await provider.GetRequiredService<IntegrationValidator>().ValidateAsync(LocalAwsFixture.Role("logs-wrong", externalId: "wrong-" + LocalAwsFixture.ExternalId), location);
            var manifests = await provider.GetRequiredService<CurBucketReader>().FindPeriodManifestsAsync(role, location);
            var manifest = await provider.GetRequiredService<CurBucketReader>().ReadManifestAsync(role, Bucket, manifests[0].ManifestKey);
            aws.Server.Faults.Add(new InjectedFault(FaultKind.ResetAfterBytes, LocalAwsOperations.GetObject, AfterBytes: 512 * 1024));
            var download = await provider.GetRequiredService<ResumableDownloader>().DownloadAsync(
                role, Bucket, manifest.Manifest.ReportKeys[0], Path.Combine(Path.GetTempPath(), $"curworkflows-logs-{Guid.NewGuid():N}.zip"));
            var tags = await provider.GetRequiredService<ResourceTagClient>().GetTagValuesAsync(role, "user:md-package");
            File.Delete(download.Path);
            File.Delete(download.Path + ".json");

            Assert.True(validation.Succeeded, validation.Message);
            Assert.Equal(CurErrorCodes.AccessDenied, refused.ErrorCode);
            Assert.Equal("api", tags["arn:aws:ec2:us-east-1:123456789012:instance/i-1"]);
            Assert.True(download.Requests >= 3);

            var secrets = aws.Server.IssuedSecretsForLeakChecks()
                .Concat([LocalAwsFixture.PlatformSecret, LocalAwsFixture.ExternalId, LocalAwsFixture.AdminSecret])
                .ToList();
            Assert.True(secrets.Count >= 5);
            var lines = aws.Logs.Lines.ToList();
            Assert.Contains(lines, l => l.StartsWith("AWSSDK", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("Assumed arn:aws:iam::123456789012:role/massdriver-cur-reader", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("interrupted", StringComparison.Ordinal));
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
            }

            Assert.DoesNotContain(LocalAwsFixture.ExternalId, role.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            AWSConfigs.RemoveTraceListener("Amazon", listener.Name);
            AWSConfigs.LoggingConfig.LogTo = previousLogTo;
            AWSConfigs.LoggingConfig.LogMetrics = previousMetrics;
        }
    }

    [Fact]
    public void AddCurAws_InvalidServiceUrl_FailsValidationOnStart()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Aws:S3ServiceUrl"] = "not a url",
        }).Build();
        var services = new ServiceCollection();
        services.AddCurAws(configuration);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<AwsOptions>>().Value);

        Assert.Contains("S3ServiceUrl", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddCurAws_Defaults_UsEast1AndRealAws()
    {
        var services = new ServiceCollection();
        services.AddCurAws(new ConfigurationBuilder().Build());
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<AwsOptions>>().Value;

        Assert.Equal("us-east-1", options.Region);
        Assert.Null(options.S3ServiceUrl);
        Assert.Equal(TimeSpan.FromHours(1), options.SessionDuration);
    }
}
