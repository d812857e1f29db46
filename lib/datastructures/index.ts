export { Cookie, type CookieOptions, type CookieSameSite } from "./cookie";
export { parseCookieHeader } from "./cookie-parser";
export { MutableScopeHeaders, RequestHeaders, latin1ToUtf8, type HeaderCarrier } from "./headers";
