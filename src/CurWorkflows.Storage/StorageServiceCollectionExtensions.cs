using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Stores;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers storage: options from <c>Storage</c> and <c>ConnectionStrings:CurWorkflows</c> (validated on start),
    /// <c>IDbContextFactory&lt;CurWorkflowsDbContext&gt;</c>, the stores, the cost writer and reader, the start-up
    /// migration and the periodic staging sweep.
    /// </summary>
    public static IServiceCollection AddCurStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .Configure(options =>
            {
                var connectionString = configuration.GetConnectionString(StorageOptions.ConnectionStringName);
                if (!string.IsNullOrWhiteSpace(connectionString))
                {
                    options.ConnectionString = connectionString;
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IDbContextFactory<CurWorkflowsDbContext>>(
            sp => new CurWorkflowsDbContextFactory(sp.GetRequiredService<IOptions<StorageOptions>>()));
        services.TryAddSingleton<StorageMigrator>();
        services.TryAddSingleton<CostWriter>();
        services.TryAddSingleton<CostReader>();
        services.TryAddSingleton<CostDataVersions>();
        services.TryAddSingleton<IntegrationStore>();
        services.TryAddSingleton<CollectionRunStore>();
        services.TryAddSingleton<OrganizationStore>();
        services.AddHostedService<StorageMigrationHostedService>();
        services.AddHostedService<StagingSweepService>();
        return services;
    }
}
