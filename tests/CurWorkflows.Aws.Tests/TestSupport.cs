using System.Collections.Concurrent;
using System.Diagnostics;
using Amazon;
using Amazon.Runtime;
using CurWorkflows.LocalAws;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Aws.Tests;

/// <summary>Records every log message (ours, the local endpoint's, ASP.NET Core's and the AWS SDK's trace output).</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public void Add(string line) => _lines.Enqueue(line);

    public ILogger CreateLogger(string categoryName) => new RecordingLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class RecordingLogger(RecordingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            provider.Add($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Add($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}

/// <summary>Forwards the AWS SDK's System.Diagnostics trace output into a <see cref="RecordingLoggerProvider"/>.</summary>
public sealed class SdkTraceRecorder(RecordingLoggerProvider sink) : TraceListener
{
    public override void Write(string? message) => sink.Add("AWSSDK " + message);

    public override void WriteLine(string? message) => sink.Add("AWSSDK " + message);
}

/// <summary>A local AWS endpoint with one customer role (the product doc's policy) per test class.</summary>
public class LocalAwsFixture : IAsyncLifetime
{
    public const string AccountId = "123456789012";
    public const string RoleArn = "arn:aws:iam::123456789012:role/massdriver-cur-reader";
    public const string ExternalId = "ext-7f3c2a9e-51d4-4c1b-9a77-0b8e2f6d4c31";
    public const string PlatformAccessKeyId = "AKIAPLATFORM00000001";
    public const string PlatformSecret = "platform-secret-2b1f0c9d8e7a6b5c4d3e2f1a0b9c8d7e";
    public const string AdminAccessKeyId = "AKIAADMIN00000000001";
    public const string AdminSecret = "admin-secret-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";

    public RecordingLoggerProvider Logs { get; } = new();

    public ILoggerFactory LoggerFactory { get; private set; } = null!;

    public LocalAwsServer Server { get; private set; } = null!;

    public static string PolicyPath
    {
        get
        {
            var module = Path.Combine(RepositoryRoot(), "integrations", "aws-cost-and-usage-reports", "policies", "cur-reader-policy.json");
            return File.Exists(module) ? module : Path.Combine(AppContext.BaseDirectory, "cur-reader-policy.json");
        }
    }

    public virtual async Task InitializeAsync()
    {
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        Server = await LocalAwsServer.StartAsync(new LocalAwsOptions
        {
            AccountId = AccountId,
            PlatformKeys = [new LocalAwsAccessKey { AccessKeyId = PlatformAccessKeyId, SecretAccessKey = PlatformSecret }],
            AdminKeys = [new LocalAwsAccessKey { AccessKeyId = AdminAccessKeyId, SecretAccessKey = AdminSecret }],
            Roles = [new LocalAwsRoleTrust { RoleArn = RoleArn, ExternalId = ExternalId, PolicyPath = PolicyPath }],
            LoggerFactory = LoggerFactory,
        });
    }

    public virtual async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        LoggerFactory.Dispose();
    }

    public AwsOptions Options(Action<AwsOptions>? configure = null)
    {
        var options = new AwsOptions
        {
            StsServiceUrl = Server.Url.ToString(),
            S3ServiceUrl = Server.Url.ToString(),
            TaggingServiceUrl = Server.Url.ToString(),
            // One region, so that request counts are those of one walk; the multi-region test sets its own.
            TaggingRegions = ["us-east-1"],
            S3ForcePathStyle = true,
            MaxErrorRetry = 3,
            RequestTimeout = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(options);
        return options;
    }

    public AwsClientFactory CreateFactory(Action<AwsOptions>? configure = null, AWSCredentials? platform = null) =>
        new(Microsoft.Extensions.Options.Options.Create(Options(configure)),
            new AwsPlatformCredentials(platform ?? new BasicAWSCredentials(PlatformAccessKeyId, PlatformSecret)),
            LoggerFactory);

    public static CustomerRole Role(string integrationId = "int-1", string externalId = ExternalId, string roleArn = RoleArn) =>
        new(integrationId, roleArn, externalId);

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CurWorkflows.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("CurWorkflows.sln not found above " + AppContext.BaseDirectory);
    }
}

internal static class Manifests
{
    public static string Json(string reportName, string bucket, DateTime periodStart, string assemblyId, IEnumerable<string> reportKeys) =>
        System.Text.Json.JsonSerializer.Serialize(new
        {
            assemblyId,
            account = LocalAwsFixture.AccountId,
            columns = new object[]
            {
                new { category = "identity", name = "LineItemId", type = "String" },
                new { category = "lineItem", name = "UnblendedCost", type = "BigDecimal" },
                new { category = "resourceTags", name = "user:md-package" },
            },
            charset = "UTF-8",
            compression = "ZIP",
            contentType = "text/csv",
            reportId = "r1",
            reportName,
            billingPeriod = new
            {
                start = periodStart.ToString("yyyyMMdd'T'HHmmss'.000Z'", System.Globalization.CultureInfo.InvariantCulture),
                end = periodStart.AddMonths(1).ToString("yyyyMMdd'T'HHmmss'.000Z'", System.Globalization.CultureInfo.InvariantCulture),
            },
            bucket,
            reportKeys,
            additionalArtifactKeys = Array.Empty<object>(),
        });
}
