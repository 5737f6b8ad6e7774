using System.Net;
using System.Text;
using System.Text.Json;

namespace CurWorkflows.Service.Tests.Infrastructure;

public sealed record Answer(HttpStatusCode Status, string? ContentType, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public override string ToString() => $"{(int)Status} {ContentType}: {Body}";
}

public static class Http
{
    public static async Task<Answer> SendAsync(HttpClient client, HttpMethod method, string path, string? json = null, string? accept = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        using var response = await client.SendAsync(request);
        return new Answer(response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    public static Task<Answer> GetAsync(HttpClient client, string path, string? accept = null) => SendAsync(client, HttpMethod.Get, path, accept: accept);

    public static Task<Answer> PostAsync(HttpClient client, string path, object? body = null) =>
        SendAsync(client, HttpMethod.Post, path, body is null ? null : body as string ?? JsonSerializer.Serialize(body));
}

public static class AmountJson
{
    /// <summary>An amount of the API: a JSON string holding an exact decimal (a number would lose digits in most parsers).</summary>
    public static decimal Amount(this JsonElement element)
    {
        Assert.Equal(JsonValueKind.String, element.ValueKind);
        return decimal.Parse(element.GetString()!, System.Globalization.NumberStyles.AllowLeadingSign | System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture);
    }
}
