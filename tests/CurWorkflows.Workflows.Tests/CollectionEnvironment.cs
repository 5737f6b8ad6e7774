using Amazon.Runtime;
using CurWorkflows.Aws;
using CurWorkflows.LocalAws;
using CurWorkflows.ReportGenerator;
using CurWorkflows.Storage;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CurWorkflows.Workflows.Tests;

public enum TestDatabase
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// Everything a real collection needs, on loopback: the local AWS endpoint with the customer's role and bucket, a
/// database of its own (SQLite file or a fresh PostgreSQL database), and a worker host on its own task queue.
/// </summary>
public sealed class CollectionEnvironment : IAsyncDisposable
{
    public const string RoleArn = "arn:aws:iam::123456789012:role/massdriver-cur-reader";
    public const string ExternalId = "ext-4d1c8e2a-77b9-4f0e-a3c5-9b2e6f1d0a88";
    public const string Bucket = "massdriver-costs-test";
    public const string PlatformAccessKeyId = "AKIAPLATFORM00000002";
    public const string PlatformSecret = "platform-secret-7e6d5c4b3a29180f7e6d5c4b3a291800";

    private readonly List<IHost> hosts = [];
    private readonly string directory;

    private CollectionEnvironment(TemporalFixture temporal, LocalAwsServer aws, string connectionString, TestDatabase database, string directory)
    {
        Temporal = temporal;
        Aws = aws;
        ConnectionString = connectionString;
        Database = database;
        this.directory = directory;
        TaskQueue = TemporalFixture.NewTaskQueue();
    }

    public TemporalFixture Temporal { get; }

    public LocalAwsServer Aws { get; }

    public TestDatabase Database { get; }

    public string ConnectionString { get; set; }

    public string TaskQueue { get; }

    public string SpoolDirectory => Path.Combine(directory, "spool");

    public static string? PostgresConnectionString => Environment.GetEnvironmentVariable("CURWORKFLOWS_TEST_POSTGRES");

    public static async Task<CollectionEnvironment> StartAsync(TemporalFixture temporal, TestDatabase database)
    {
        var directory = Path.Combine(Path.GetTempPath(), "curworkflows-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var aws = await LocalAwsServer.StartAsync(new LocalAwsOptions
        {
            PlatformKeys = [new LocalAwsAccessKey { AccessKeyId = PlatformAccessKeyId, SecretAccessKey = PlatformSecret }],
            Roles = [new LocalAwsRoleTrust { RoleArn = RoleArn, ExternalId = ExternalId, PolicyPath = PolicyPath() }],
            Buckets = [Bucket],
            DataDirectory = Path.Combine(directory, "aws"),
            LoggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning)),
        });
        var connectionString = database switch
        {
            TestDatabase.Sqlite => $"Data Source={Path.Combine(directory, "curworkflows.db")}",
            _ => await CreatePostgresDatabaseAsync(),
        };
        return new CollectionEnvironment(temporal, aws, connectionString, database, directory);
    }

    /// <summary>Starts a worker host (migrations applied at start) with the given configuration overrides.</summary>
    public async Task<IHost> StartWorkerAsync(
        Dictionary<string, string?>? overrides = null, string? connectionString = null, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(WorkerSettings(connectionString, overrides));
        builder.Services.AddSingleton(new AwsPlatformCredentials(new BasicAWSCredentials(PlatformAccessKeyId, PlatformSecret)));
        builder.AddCurWorkflowsWorker();
        services?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        hosts.Add(host);
        return host;
    }

    /// <summary>A host with storage only (migrations applied at start), for tests whose workers run elsewhere.</summary>
    public async Task<IHost> StartStorageAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(WorkerSettings());
        builder.Services.AddCurStorage(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        hosts.Add(host);
        return host;
    }

    public Dictionary<string, string?> WorkerSettings(string? connectionString = null, Dictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Temporal:Address"] = Temporal.Address,
            ["Temporal:TaskQueue"] = TaskQueue,
            ["Storage:Provider"] = Database == TestDatabase.Sqlite ? "Sqlite" : "PostgreSql",
            ["ConnectionStrings:CurWorkflows"] = connectionString ?? ConnectionString,
            ["Storage:StagingSweepInterval"] = "00:00:00",
            ["Aws:StsServiceUrl"] = Aws.Url.ToString(),
            ["Aws:S3ServiceUrl"] = Aws.Url.ToString(),
            ["Aws:TaggingServiceUrl"] = Aws.Url.ToString(),
            // The generator's resources are in us-east-1 (or global); one region keeps a lookup's request count that of one walk.
            ["Aws:TaggingRegions:0"] = "us-east-1",
            ["Aws:S3ForcePathStyle"] = "true",
            ["Collection:SpoolDirectory"] = SpoolDirectory,
            ["Collection:MaxParallelFiles"] = "2",
        };
        foreach (var (key, value) in overrides ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Creates an organization and an integration for the test bucket. Returns (organizationId, integrationId).</summary>
    public static async Task<(Guid OrganizationId, Guid IntegrationId)> CreateIntegrationAsync(
        IServiceProvider services, string externalId = ExternalId, string prefix = "cur")
    {
        var organization = await services.GetRequiredService<OrganizationStore>().CreateOrganizationAsync("org " + Guid.NewGuid().ToString("N")[..6]);
        var enabled = await services.GetRequiredService<IntegrationStore>()
            .EnableAsync(new EnableIntegrationRequest(organization.Id, RoleArn, externalId, Bucket, prefix));
        return (organization.Id, enabled.Integration.Id);
    }

    /// <summary>Generates a delivery into the bucket (files on disk, served without copying).</summary>
    /// <summary>The activities a workflow waits for, with their attempts and last heartbeats.</summary>
    public async Task<IReadOnlyList<Temporalio.Api.Workflow.V1.PendingActivityInfo>> PendingActivitiesAsync(string workflowId)
    {
        var client = Temporal.Client;
        var description = await client.WorkflowService.DescribeWorkflowExecutionAsync(new()
        {
            Namespace = client.Options.Namespace,
            Execution = new() { WorkflowId = workflowId },
        });
        return description.PendingActivities;
    }

    public async Task<GeneratedDelivery> DeliverAsync(ReportDeliveryOptions options)
    {
        var target = Path.Combine(directory, "deliveries", Guid.NewGuid().ToString("N"));
        var delivery = ReportDelivery.WriteToDirectory(target, options with { Bucket = Bucket });
        foreach (var key in delivery.DataKeys.Concat(delivery.ManifestKeys))
        {
            await Aws.Objects.PutObjectFromFileAsync(Bucket, key, Path.Combine(target, key.TrimStart('/')));
        }

        return delivery;
    }

    /// <summary>Tags, in the tagging API, the report's resources whose rows carry no tag (the generator's truth says which).</summary>
    public void TagThroughTheApi(GeneratedDelivery delivery)
    {
        foreach (var (arn, package) in delivery.Truth.TaggingApiPackagesByArn)
        {
            Aws.AddTaggedResource(arn, new Dictionary<string, string> { ["md-package"] = package });
        }
    }

    /// <summary>Tags <paramref name="count"/> instances that no report mentions with <c>md-package</c> =
    /// <paramref name="packageOf"/>(i): more than the tagging API's page of 100 makes a lookup of several pages.</summary>
    public void TagOtherResources(int count, Func<int, string> packageOf)
    {
        for (var i = 0; i < count; i++)
        {
            Aws.AddTaggedResource($"arn:aws:ec2:us-east-1:123456789012:instance/i-{i:x17}", new Dictionary<string, string> { ["md-package"] = packageOf(i) });
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in hosts)
        {
            await host.StopAsync();
            host.Dispose();
        }

        await Aws.DisposeAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string PolicyPath()
    {
        var module = Path.Combine(TestPaths.RepositoryRoot(), "integrations", "aws-cost-and-usage-reports", "policies", "cur-reader-policy.json");
        return File.Exists(module) ? module : throw new FileNotFoundException("The customer module's policy is missing", module);
    }

    private static async Task<string> CreatePostgresDatabaseAsync()
    {
        var admin = PostgresConnectionString ?? throw new InvalidOperationException("CURWORKFLOWS_TEST_POSTGRES is not set");
        var name = "cw_workflows_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }
}
