using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Stores;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CurWorkflows.Storage.Tests;

/// <summary>A migrated database of its own, created for one test class through AddCurStorage and dropped afterwards.</summary>
public abstract class StorageDatabase : IAsyncLifetime
{
    private readonly System.Collections.Concurrent.ConcurrentBag<CurWorkflowsDbContextFactory> _extraFactories = [];
    private ServiceProvider? _services;

    public abstract StorageProvider Provider { get; }

    public StorageOptions Options => Services.GetRequiredService<IOptions<StorageOptions>>().Value;

    public IServiceProvider Services => _services ?? throw new InvalidOperationException("Not initialized.");

    public CostWriter Writer => Services.GetRequiredService<CostWriter>();

    public CostReader Reader => Services.GetRequiredService<CostReader>();

    public IntegrationStore Integrations => Services.GetRequiredService<IntegrationStore>();

    public CollectionRunStore Runs => Services.GetRequiredService<CollectionRunStore>();

    public OrganizationStore Organizations => Services.GetRequiredService<OrganizationStore>();

    public IDbContextFactory<CurWorkflowsDbContext> ContextFactory => Services.GetRequiredService<IDbContextFactory<CurWorkflowsDbContext>>();

    /// <summary>A writer whose contexts carry extra options (e.g. a failure-injecting interceptor), logging to <paramref name="logger"/>.
    /// Its context factory (with SQLite, its own background checkpointer) is disposed with the database.</summary>
    public CostWriter CreateWriter(Action<DbContextOptionsBuilder> configure, ILogger<CostWriter>? logger = null)
    {
        var factory = new CurWorkflowsDbContextFactory(Options, configure);
        _extraFactories.Add(factory);
        return new(factory, Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, logger ?? NullLogger<CostWriter>.Instance);
    }

    /// <summary>False when the server is not configured: the tests of the class are skipped then.</summary>
    protected virtual bool IsAvailable => true;

    public async Task InitializeAsync()
    {
        if (!IsAvailable)
        {
            return;
        }

        var connectionString = await CreateDatabaseAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:CurWorkflows"] = connectionString,
            ["Storage:Provider"] = Provider.ToString(),
            ["Storage:StagingBatchSize"] = "1000",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddCurStorage(configuration);
        _services = services.BuildServiceProvider(validateScopes: true);
        await _services.GetRequiredService<StorageMigrator>().MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var factory in _extraFactories)
        {
            factory.Dispose();
        }

        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await DropDatabaseAsync();
    }

    protected abstract Task<string> CreateDatabaseAsync();

    protected abstract Task DropDatabaseAsync();
}

public sealed class SqliteDatabase : StorageDatabase
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "curworkflows-tests", Guid.NewGuid().ToString("N"));

    public override StorageProvider Provider => StorageProvider.Sqlite;

    private string ConnectionString => new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, "curworkflows.db") }.ConnectionString;

    protected override Task<string> CreateDatabaseAsync() => Task.FromResult(ConnectionString);

    protected override Task DropDatabaseAsync()
    {
        SqlitePool.Clear(ConnectionString);
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        return Task.CompletedTask;
    }
}

public sealed class PostgreSqlDatabase : StorageDatabase
{
    private readonly string _name = "curworkflows_test_" + Guid.NewGuid().ToString("N");

    public override StorageProvider Provider => StorageProvider.PostgreSql;

    protected override bool IsAvailable => RequiresPostgreSqlAttribute.ConnectionString is not null;

    private static string ServerConnectionString => RequiresPostgreSqlAttribute.ConnectionString
        ?? throw new InvalidOperationException($"{RequiresPostgreSqlAttribute.EnvironmentVariable} is not set.");

    protected override async Task<string> CreateDatabaseAsync()
    {
        await ExecuteOnServerAsync($"CREATE DATABASE {_name}");
        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = _name }.ConnectionString;
    }

    protected override async Task DropDatabaseAsync()
    {
        if (RequiresPostgreSqlAttribute.ConnectionString is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
    }

    private static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
