using Microsoft.Extensions.Diagnostics.HealthChecks;
using Temporalio.Client;

namespace CurWorkflows.Service.Temporal;

/// <summary>Readiness: the Temporal frontend answers its health RPC.</summary>
internal sealed class TemporalHealthCheck(ITemporalClient client) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var healthy = await client.Connection.CheckHealthAsync(
                options: new RpcOptions { CancellationToken = cancellationToken, Timeout = TimeSpan.FromSeconds(3) });
            return healthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("Temporal reports not serving.");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("Temporal is not reachable.", exception);
        }
    }
}
