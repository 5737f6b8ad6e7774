using System.Reflection;
using CurWorkflows.Service.Apis;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;

namespace CurWorkflows.Service.Costs;

/// <summary>
/// Sends a <see cref="CostAnswer"/>'s bytes with its ETag, or 304 when the request's If-None-Match names it.
/// <c>Cache-Control: private, no-cache</c>: clients may keep the answer but revalidate it each time (a 304 costs no body),
/// so new cost data is visible to them at once.
/// </summary>
public sealed class CostAnswerResult(CostAnswer answer) : IResult, IEndpointMetadataProvider
{
    public CostAnswer Answer => answer;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.Headers.ETag = answer.ETag;
        response.Headers.CacheControl = "private, no-cache";
        response.Headers.Vary = "Accept";
        if (Matches(httpContext.Request.Headers.IfNoneMatch))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = answer.ContentType;
        response.ContentLength = answer.Body.Length;
        return response.Body.WriteAsync(answer.Body, httpContext.RequestAborted).AsTask();
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(CostsResponse), ["application/json", "text/csv"]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status304NotModified, typeof(void), []));
    }

    /// <summary>If-None-Match uses the weak comparison (RFC 9110 13.1.2): a W/ prefix does not matter.</summary>
    private bool Matches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch)
    {
        if (ifNoneMatch.Count == 0 || !EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags))
        {
            return false;
        }

        var ours = new EntityTagHeaderValue(answer.ETag);
        return tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(ours, useStrongComparison: false));
    }
}
