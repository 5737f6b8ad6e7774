using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using CurWorkflows.Service.Auth;
using CurWorkflows.Service.Extensions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Apis;

public sealed record CreateApiKeyRequest(string? Name);

public sealed record ApiKeyCreatedResponse(Guid OrganizationId, string Organization, string KeyId, string ApiKey);

/// <summary>
/// Organization API keys, behind the admin key from configuration (<c>Api:AdminKey</c>). Without an admin key
/// configured these endpoints answer 404, as if they did not exist.
/// </summary>
public static partial class AdminApi
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/admin").WithTags("Admin").AddEndpointFilter(RequireAdminKey);
        group.MapPost("/organizations/{organization}/api-keys", CreateApiKey);
        group.MapDelete("/api-keys/{keyId}", RevokeApiKey);
        return group;
    }

    public static async Task<Results<Created<ApiKeyCreatedResponse>, ProblemHttpResult>> CreateApiKey(
        string organization, CreateApiKeyRequest? request, ApiKeyStore store, CancellationToken cancellationToken)
    {
        if (!OrganizationName().IsMatch(organization))
        {
            return TypedResults.Problem(Problems.Validation(new Dictionary<string, string[]>
            {
                ["organization"] = ["organization must be 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or digit."],
            }));
        }

        var name = request?.Name ?? "";
        if (name.Length > 200)
        {
            return TypedResults.Problem(Problems.Validation(new Dictionary<string, string[]> { ["name"] = ["name must be at most 200 characters."] }));
        }

        var created = await store.CreateKeyAsync(organization, name, cancellationToken);
        return TypedResults.Created(
            $"/api/v1/admin/api-keys/{created.KeyId}",
            new ApiKeyCreatedResponse(created.OrganizationId, created.OrganizationName, created.KeyId, created.ApiKey));
    }

    public static async Task<Results<NoContent, NotFound>> RevokeApiKey(string keyId, ApiKeyStore store, CancellationToken cancellationToken) =>
        await store.RevokeAsync(keyId, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async ValueTask<object?> RequireAdminKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var adminKey = context.HttpContext.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.AdminKey;
        if (string.IsNullOrEmpty(adminKey))
        {
            return TypedResults.NotFound();
        }

        var presented = ApiKeyAuthenticationHandler.BearerToken(context.HttpContext.Request.Headers.Authorization.ToString()) ?? "";
        var matches = CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(adminKey)));
        if (!matches)
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Unauthorized();
        }

        return await next(context);
    }

    [GeneratedRegex(OrganizationIds.Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex OrganizationName();
}
