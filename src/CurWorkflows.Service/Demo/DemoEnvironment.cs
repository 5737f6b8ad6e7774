using CurWorkflows.LocalAws;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Service.Demo;

/// <summary>Section <c>Demo</c>; <c>--demo</c> on the command line sets <c>Demo:Enabled</c>.</summary>
public sealed class DemoOptions
{
    public const string SectionName = "Demo";

    public bool Enabled { get; set; }

    /// <summary>CUR line items of the generated month.</summary>
    public long Rows { get; set; } = 20_000;
}

/// <summary>
/// The AWS side of the demo: a local AWS endpoint with a customer role, external ID and bucket as the OpenTofu module
/// would create them, and one month of generated CUR data in the bucket.
/// </summary>
public sealed class DemoEnvironment : IAsyncDisposable
{
    public const string RoleArn = "arn:aws:iam::123456789012:role/massdriver-cur-reader";
    public const string Bucket = "massdriver-costs-demo0001";
    public const string ReportPrefix = "cur";
    public const string ReportName = "massdriver-costs";

    // The local endpoint's trust policy checks it; a real module generates a random one.
    public const string ExternalId = "demo-external-id-6f1c2a";

    // The three statements of the product doc's IAM policy, enforced on the assumed role by the local endpoint.
    private const string ReaderPolicy = """
        {
          "Version": "2012-10-17",
          "Statement": [
            { "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::massdriver-costs-*" },
            { "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::massdriver-costs-*/*" },
            { "Effect": "Allow", "Action": ["tag:GetResources"], "Resource": "*" }
          ]
        }
        """;

    private readonly ILoggerFactory loggerFactory;

    private DemoEnvironment(LocalAwsServer server, GeneratedDelivery delivery, DateOnly month, ILoggerFactory loggerFactory)
    {
        this.loggerFactory = loggerFactory;
        Server = server;
        Delivery = delivery;
        Month = month;
    }

    public LocalAwsServer Server { get; }

    public GeneratedDelivery Delivery { get; }

    public DateOnly Month { get; }

    public static async Task<DemoEnvironment> StartAsync(DemoOptions options)
    {
        // The endpoint logs every request at Information; the demo shows only its problems.
        var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        var server = await LocalAwsServer.StartAsync(new LocalAwsOptions
        {
            Roles = [new LocalAwsRoleTrust { RoleArn = RoleArn, ExternalId = ExternalId, PolicyJson = ReaderPolicy }],
            Buckets = [Bucket],
            LoggerFactory = loggerFactory,
        });
        try
        {
            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            var month = new DateOnly(today.Year, today.Month, 1).AddMonths(-1);
            var delivery = ReportDelivery.Write(
                new ReportDeliveryOptions
                {
                    Bucket = Bucket,
                    Prefix = ReportPrefix,
                    ReportName = ReportName,
                    Files = 2,
                    Report = new ReportGeneratorOptions { Rows = options.Rows, BillingPeriodStart = month, Seed = 7, Final = true },
                },
                key => new UploadOnDispose(server, Bucket, key));
            foreach (var (arn, package) in delivery.Truth.TaggingApiPackagesByArn)
            {
                server.AddTaggedResource(arn, new Dictionary<string, string> { ["md-package"] = package });
            }

            return new DemoEnvironment(server, delivery, month, loggerFactory);
        }
        catch
        {
            await server.DisposeAsync();
            loggerFactory.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        loggerFactory.Dispose();
    }

    /// <summary>Buffers one generated object and stores it in the local bucket when the generator closes it.</summary>
    private sealed class UploadOnDispose(LocalAwsServer server, string bucket, string key) : MemoryStream
    {
        private bool uploaded;

        protected override void Dispose(bool disposing)
        {
            if (disposing && !uploaded)
            {
                uploaded = true;
                server.Objects.PutObject(bucket, key, ToArray());
            }

            base.Dispose(disposing);
        }
    }
}
