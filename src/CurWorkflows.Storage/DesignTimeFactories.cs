using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace CurWorkflows.Storage;

// Used by `dotnet ef migrations add ... --context <X>`: each provider context has its own migration set.
// The connection strings are placeholders; generating migrations and scripts needs no server.
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteCurWorkflowsDbContext>
{
    public SqliteCurWorkflowsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteCurWorkflowsDbContext>().UseSqlite(StorageOptions.DefaultConnectionString).Options);
}

internal sealed class PostgreSqlDesignTimeFactory : IDesignTimeDbContextFactory<PostgreSqlCurWorkflowsDbContext>
{
    public PostgreSqlCurWorkflowsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgreSqlCurWorkflowsDbContext>().UseNpgsql("Host=localhost;Database=curworkflows").Options);
}

internal sealed class SqlServerDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerCurWorkflowsDbContext>
{
    public SqlServerCurWorkflowsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqlServerCurWorkflowsDbContext>().UseSqlServer("Server=localhost;Database=CurWorkflows;Trusted_Connection=True;TrustServerCertificate=True").Options);
}
