using System.Security.Cryptography;
using System.Text;
using CurWorkflows.Service.Auth;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Storage.Stores;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Apis;

public sealed record CreateOrganizationRequest(string? Name);

public sealed record OrganizationResponse(Guid Id, string Name, DateTimeOffset CreatedAt);

public sealed record OrganizationListResponse(IReadOnlyList<OrganizationResponse> Organizations);

public sealed record CreateApiKeyRequest(string? Name);

/// <summary>The new key: <see cref="ApiKey"/> is shown only in this response; the service keeps its hash.</summary>
public sealed record ApiKeyCreatedResponse(Guid OrganizationId, string KeyId, string ApiKey);

public sealed record ApiKeyResponse(string KeyId, string Name, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed record ApiKeyListResponse(Guid OrganizationId, IReadOnlyList<ApiKeyResponse> ApiKeys);

/// <summary>
/// Organizations and their API keys, behind the admin key from configuration (<c>Api:AdminKey</c>, as
/// <c>Authorization: Bearer ...</c>). Without an admin key configured these endpoints answer 404.
/// </summary>
public static class AdminApi
{
    private const string AdminPath = "/api/v1/admin";

    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        // The admin key is checked by UseAdminKey, before routing reaches these endpoints.
        var group = routes.MapGroup(AdminPath + "/organizations").WithTags("Admin");
        group.MapPost("/", CreateOrganization);
        group.MapGet("/", ListOrganizations);
        group.MapPost("/{organizationId:guid}/api-keys", CreateApiKey);
        group.MapGet("/{organizationId:guid}/api-keys", ListApiKeys);
        group.MapDelete("/{organizationId:guid}/api-keys/{keyId}", RevokeApiKey);
        return group;
    }

    public static async Task<Results<Created<OrganizationResponse>, ProblemHttpResult>> CreateOrganization(
        CreateOrganizationRequest? request, OrganizationStore organizations, CancellationToken cancellationToken)
    {
        var name = request?.Name?.Trim() ?? "";
        if (name.Length is 0 or > 200)
        {
            return TypedResults.Problem(Problems.Validation(new Dictionary<string, string[]> { ["name"] = ["name is required, at most 200 characters."] }));
        }

        var created = await organizations.CreateOrganizationAsync(name, cancellationToken: cancellationToken);
        return TypedResults.Created($"/api/v1/admin/organizations/{created.Id}", new OrganizationResponse(created.Id, created.Name, created.CreatedAt));
    }

    /// <summary>Every organization, or those named <paramref name="name"/>: how an operator finds the id of one whose key was
    /// lost (the bootstrap organization's among them).</summary>
    public static async Task<Ok<OrganizationListResponse>> ListOrganizations(
        string? name, OrganizationStore organizations, CancellationToken cancellationToken)
    {
        var list = await organizations.ListOrganizationsAsync(name?.Trim(), cancellationToken);
        return TypedResults.Ok(new OrganizationListResponse(list.Select(o => new OrganizationResponse(o.Id, o.Name, o.CreatedAt)).ToList()));
    }

    public static async Task<Results<Created<ApiKeyCreatedResponse>, NotFound, ProblemHttpResult>> CreateApiKey(
        Guid organizationId, CreateApiKeyRequest? request, OrganizationStore organizations, HttpContext http, CancellationToken cancellationToken)
    {
        // The one answer that holds the key: no cache or proxy keeps it.
        http.Response.Headers.CacheControl = "no-store";
        var name = request?.Name ?? "";
        if (name.Length > 200)
        {
            return TypedResults.Problem(Problems.Validation(new Dictionary<string, string[]> { ["name"] = ["name must be at most 200 characters."] }));
        }

        if (await organizations.GetOrganizationAsync(organizationId, cancellationToken) is null)
        {
            return TypedResults.NotFound();
        }

        var created = await organizations.CreateApiKeyAsync(organizationId, name, cancellationToken);
        return TypedResults.Created(
            $"/api/v1/admin/organizations/{organizationId}/api-keys/{created.KeyId}",
            new ApiKeyCreatedResponse(organizationId, created.KeyId, created.Secret));
    }

    public static async Task<Results<Ok<ApiKeyListResponse>, NotFound>> ListApiKeys(
        Guid organizationId, OrganizationStore organizations, CancellationToken cancellationToken)
    {
        if (await organizations.GetOrganizationAsync(organizationId, cancellationToken) is null)
        {
            return TypedResults.NotFound();
        }

        var keys = await organizations.ListApiKeysAsync(organizationId, cancellationToken);
        return TypedResults.Ok(new ApiKeyListResponse(organizationId, keys.Select(k => new ApiKeyResponse(k.KeyId, k.Name, k.CreatedAt, k.RevokedAt)).ToList()));
    }

    public static async Task<Results<NoContent, NotFound>> RevokeApiKey(
        Guid organizationId, string keyId, OrganizationStore organizations, ApiKeyCache keyCache, CancellationToken cancellationToken)
    {
        if (!await organizations.RevokeApiKeyAsync(organizationId, keyId, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        // Other processes serving the API notice within Api:ApiKeyCacheSeconds; this one at once.
        keyCache.EvictOrganization(organizationId);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Checks the admin key before routing reaches an admin endpoint: an endpoint filter runs only after the body is
    /// bound, so an anonymous caller's malformed body got a 400 (or 415) that also showed the API exists.
    /// </summary>
    public static IApplicationBuilder UseAdminKey(this IApplicationBuilder app) =>
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments(AdminPath, StringComparison.OrdinalIgnoreCase),
            admin => admin.Use(async (context, next) =>
            {
                if (AdminKeyRefusal(context) is { } refusal)
                {
                    await refusal.ExecuteAsync(context);
                    return;
                }

                await next(context);
            }));

    private static IResult? AdminKeyRefusal(HttpContext context)
    {
        var adminKey = context.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.AdminKey;
        if (string.IsNullOrEmpty(adminKey))
        {
            return TypedResults.NotFound();
        }

        // Hashing first makes the comparison constant-time regardless of the lengths presented.
        var presented = ApiKeyAuthenticationHandler.BearerToken(context.Request.Headers.Authorization.ToString()) ?? "";
        if (!CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(adminKey))))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Unauthorized();
        }

        return null;
    }
}
