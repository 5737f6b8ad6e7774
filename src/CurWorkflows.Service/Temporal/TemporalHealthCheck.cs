using CurWorkflows.Workflows;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Temporalio.Api.OperatorService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace CurWorkflows.Service.Temporal;

/// <summary>
/// Readiness: the Temporal frontend answers its health RPC, and the namespace has the search attributes the workflows are
/// started with (an external server set up without them refuses every enable). Once found, they are not asked again.
/// </summary>
internal sealed class TemporalHealthCheck(ITemporalClient client, IOptions<TemporalOptions> options) : IHealthCheck
{
    private volatile bool searchAttributesFound;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var rpc = new RpcOptions { CancellationToken = cancellationToken, Timeout = TimeSpan.FromSeconds(3) };
            var healthy = await client.Connection.CheckHealthAsync(options: rpc);
            if (!healthy)
            {
                return HealthCheckResult.Unhealthy("Temporal reports not serving.");
            }

            if (!searchAttributesFound)
            {
                try
                {
                    var registered = await client.Connection.OperatorService.ListSearchAttributesAsync(
                        new ListSearchAttributesRequest { Namespace = options.Value.Namespace }, rpc);
                    if (CurSearchAttributes.All.Any(k => !registered.CustomAttributes.ContainsKey(k.Name)))
                    {
                        return HealthCheckResult.Unhealthy(TemporalNotSetUpException.SetUpAdvice(options.Value.Namespace));
                    }
                }
                catch (RpcException e) when (e.Code is RpcException.StatusCode.PermissionDenied or RpcException.StatusCode.Unimplemented)
                {
                    // A server that does not let this service read its set-up (a hosted one): the enable says so instead.
                }

                searchAttributesFound = true;
            }

            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("Temporal is not reachable.", exception);
        }
    }
}
