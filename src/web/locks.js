// Web Locks (not yet stable in web-sys): runs `task` holding the exclusive
// lock `name`. Throws where there are no Web Locks; the Rust side decides.
export const request = (name, task) => navigator.locks.request(name, task);
