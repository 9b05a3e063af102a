# Palaver's Windows installer: one-folder bundle (PyInstaller), then Inno Setup.
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build-installer.ps1 [-Smoke] [-NoInstaller]
# -> dist\Palaver\Palaver.exe and dist\Palaver-<version>-setup.exe.
# Needs Python 3.11+ (the py launcher) and Inno Setup 6 (ISCC.exe on PATH or in its default
# folder; `winget install JRSoftware.InnoSetup`). -Smoke starts the built app with
# --smoke-test offscreen and runs packaging\bundle_check.py inside the bundle; both must pass.
param([switch]$Smoke, [switch]$NoInstaller)
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '..\..')

$py = '.venv\Scripts\python.exe'
if (-not (Test-Path $py)) { py -3 -m venv .venv; if ($LASTEXITCODE) { throw 'venv failed' } }
& $py -m pip install -q --disable-pip-version-check -e '.[build]'
if ($LASTEXITCODE) { throw 'pip install failed' }

Remove-Item -Recurse -Force build\pyinstaller, dist\Palaver -ErrorAction SilentlyContinue
# -Smoke also bundles packaging\bundle_check.py as palaver-bundle-check.exe (run, then removed).
$env:PALAVER_BUNDLE_CHECK = if ($Smoke) { '1' } else { '0' }
& $py -m PyInstaller --noconfirm --clean --log-level WARN --workpath build\pyinstaller --distpath dist pyinstaller.spec
if ($LASTEXITCODE) { throw 'PyInstaller failed' }
$size = (Get-ChildItem -Recurse -File dist\Palaver | Measure-Object -Property Length -Sum).Sum / 1MB
Write-Host ('bundle: dist\Palaver ({0:N0} MB)' -f $size)

if ($Smoke) {
    # A windowed .exe returns at once from the shell: wait for it and read its exit code.
    $data = Join-Path ([IO.Path]::GetTempPath()) ('palaver-smoke-' + [guid]::NewGuid())
    $env:QT_QPA_PLATFORM = 'offscreen'
    $p = Start-Process -FilePath 'dist\Palaver\Palaver.exe' -ArgumentList '--smoke-test', '--data-dir', "`"$data`"" -Wait -PassThru
    Remove-Item Env:QT_QPA_PLATFORM
    Remove-Item -Recurse -Force $data -ErrorAction SilentlyContinue
    if ($p.ExitCode -ne 0) { throw "smoke test failed: exit $($p.ExitCode)" }
    Write-Host 'smoke test: exit 0'
    $env:QT_QPA_PLATFORM = 'offscreen'
    & 'dist\Palaver\palaver-bundle-check.exe'
    $checked = $LASTEXITCODE
    Remove-Item Env:QT_QPA_PLATFORM
    Remove-Item -Force 'dist\Palaver\palaver-bundle-check.exe'
    if ($checked -ne 0) { throw 'bundle check failed' }
}
if ($NoInstaller) { exit 0 }

$version = (& $py -c "from importlib.metadata import version; print(version('palaver'))").Trim()
$numbers = @([regex]::Matches($version, '\d+') | Select-Object -First 4 | ForEach-Object { $_.Value })
while ($numbers.Count -lt 4) { $numbers += '0' }
$numeric = $numbers -join '.'

$iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $iscc) {
    $iscc = @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
              "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe") | Where-Object { Test-Path $_ } | Select-Object -First 1
}
if (-not $iscc) { throw 'Inno Setup 6 (ISCC.exe) not found: winget install JRSoftware.InnoSetup' }
& $iscc "/DAppVersion=$version" "/DNumericVersion=$numeric" 'packaging\windows\palaver.iss'
if ($LASTEXITCODE) { throw 'Inno Setup failed' }
Write-Host "installer: dist\Palaver-$version-setup.exe"
