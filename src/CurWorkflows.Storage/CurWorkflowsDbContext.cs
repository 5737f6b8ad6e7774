using System.Text;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CurWorkflows.Storage;

/// <summary>
/// The CurWorkflows database. Each provider has a subclass (<see cref="SqliteCurWorkflowsDbContext"/>,
/// <see cref="PostgreSqlCurWorkflowsDbContext"/>, <see cref="SqlServerCurWorkflowsDbContext"/>) that owns that
/// provider's migration set; code should depend on this base type through <c>IDbContextFactory&lt;CurWorkflowsDbContext&gt;</c>.
/// </summary>
public abstract class CurWorkflowsDbContext : DbContext
{
    protected CurWorkflowsDbContext(DbContextOptions options)
        : base(options)
    {
    }

    public abstract StorageProvider Provider { get; }

    public DbSet<Organization> Organizations => Set<Organization>();

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<Integration> Integrations => Set<Integration>();

    public DbSet<CollectionRun> CollectionRuns => Set<CollectionRun>();

    public DbSet<BillingPeriod> BillingPeriods => Set<BillingPeriod>();

    // The cost tables hold every run's generation; only the active ones are the integration's costs. The raw sets stay
    // inside the storage layer (the writer, the replace, the sweep), so that no reader can sum a staged or superseded
    // generation by mistake: readers get the Active* queries below.
    internal DbSet<DailyPackageCostRow> DailyPackageCosts => Set<DailyPackageCostRow>();

    internal DbSet<DailyResourceCostRow> DailyResourceCosts => Set<DailyResourceCostRow>();

    internal DbSet<MonthlyPackageCostRow> MonthlyPackageCosts => Set<MonthlyPackageCostRow>();

    public DbSet<CostGeneration> CostGenerations => Set<CostGeneration>();

    /// <summary>Daily package rows readers see: those of each billing period's active run.</summary>
    public IQueryable<DailyPackageCostRow> ActiveDailyPackageCosts => Active(DailyPackageCosts);

    public IQueryable<DailyResourceCostRow> ActiveDailyResourceCosts => Active(DailyResourceCosts);

    public IQueryable<MonthlyPackageCostRow> ActiveMonthlyPackageCosts => Active(MonthlyPackageCosts);

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(CurWorkflowsDbContext).Assembly);

        // snake_case columns so that the hand-written bulk and replace SQL reads the same on every provider.
        foreach (var entityType in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entityType.GetProperties())
            {
                property.SetColumnName(ToSnakeCase(property.Name));
            }
        }
    }

    // A join from the billing periods: with the caller's organization (or integration) filter on the rows, carried to
    // the periods through the join's equalities, the database picks that organization's periods by their index and
    // each active run's rows by the run-led index of the cost table.
    private IQueryable<T> Active<T>(IQueryable<T> rows)
        where T : CostRow =>
        from p in BillingPeriods
        join c in rows
            on new { p.OrganizationId, p.IntegrationId, p.PeriodStart, p.CollectionRunId }
            equals new { c.OrganizationId, c.IntegrationId, PeriodStart = c.BillingPeriod, c.CollectionRunId }
        select c;

    internal static string ToSnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
